package csrf_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bulwarkhq/bulwark/csrf"
)

// memStore is a session store for tests: secrets keyed by the session id
// that session() puts in the context from the "sid" cookie.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

type sidKey struct{}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) Get(ctx context.Context) []byte {
	sid, _ := ctx.Value(sidKey{}).(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.m[sid])
}

func (s *memStore) Put(ctx context.Context, secret []byte) {
	sid, _ := ctx.Value(sidKey{}).(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[sid] = bytes.Clone(secret)
}

func (s *memStore) has(sid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[sid]
	return ok
}

func (s *memStore) destroy(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sid)
}

// session plays the app's session middleware: the "sid" cookie names the
// session, and a request without one starts a new session.
func session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid := ""
		if c, err := r.Cookie("sid"); err == nil {
			sid = c.Value
		} else {
			sid = rand.Text()
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid})
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sidKey{}, sid)))
	})
}

// testApp is a CSRF-protected app; refused requests answer 403 with the
// reason in the body.
type testApp struct {
	store *memStore
	h     http.Handler
}

func newApp(t testing.TB, o csrf.Options) *testApp {
	t.Helper()
	a := &testApp{store: newMemStore()}
	o.Store = a.store
	if o.ErrorHandler == nil {
		o.ErrorHandler = writeReason
	}
	p, err := csrf.New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, csrf.Token(r))
	})
	mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, csrf.Token(r)+" "+csrf.Token(r))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		csrf.Rotate(r)
		_, _ = io.WriteString(w, csrf.Token(r))
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		f, _, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, _ := io.Copy(io.Discard, f)
		_, _ = fmt.Fprintf(w, "%d", n)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	a.h = session(p.Handler(mux))
	return a
}

// writeReason answers a refused request with 403 and the reason.
func writeReason(w http.ResponseWriter, r *http.Request, err error) {
	w.WriteHeader(http.StatusForbidden)
	_, _ = fmt.Fprint(w, err)
}

// visit opens a session with a GET and returns its cookie and a token.
func (a *testApp) visit(t testing.TB) (*http.Cookie, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/token", nil))
	cookies := rec.Result().Cookies()
	if rec.Code != 200 || len(cookies) != 1 || rec.Body.Len() == 0 {
		t.Fatalf("GET /token: %d %v %q", rec.Code, cookies, rec.Body)
	}
	return cookies[0], rec.Body.String()
}

// sameOrigin marks r as a modern browser's same-origin request.
func sameOrigin(r *http.Request) {
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Origin", "http://example.com")
}

// postForm sends a same-origin form POST in the session of cookie.
func (a *testApp) postForm(t testing.TB, target string, cookie *http.Cookie, form url.Values, edit ...func(*http.Request)) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "http://example.com"+target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sameOrigin(r)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	for _, e := range edit {
		e(r)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	return rec
}

func field(token string) url.Values { return url.Values{"csrf_token": {token}} }

func wantOK(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", rec.Code, rec.Body)
	}
}

func wantRefused(t *testing.T, rec *httptest.ResponseRecorder, reason error) {
	t.Helper()
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status %d, want 403 (%v)", rec.Code, reason)
	}
	if !strings.HasPrefix(rec.Body.String(), reason.Error()) {
		t.Fatalf("refused for %q, want %q", rec.Body, reason)
	}
}

func TestSameOriginFormToken(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	wantOK(t, a.postForm(t, "/form", cookie, field(token)))
	// An older browser: no Sec-Fetch-Site, matching Origin.
	wantOK(t, a.postForm(t, "/form", cookie, field(token), func(r *http.Request) { r.Header.Del("Sec-Fetch-Site") }))
	// A non-browser client: neither header.
	wantOK(t, a.postForm(t, "/form", cookie, field(token), func(r *http.Request) {
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Del("Origin")
	}))
}

func TestHeaderToken(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	for _, name := range []string{"X-CSRFToken", "X-CSRF-Token", "x-csrftoken"} {
		wantOK(t, a.postForm(t, "/form", cookie, nil, func(r *http.Request) { r.Header.Set(name, token) }))
	}
	// A header, when sent, is what counts: a bad one is not rescued by
	// a good form field.
	wantRefused(t, a.postForm(t, "/form", cookie, field(token), func(r *http.Request) {
		r.Header.Set("X-CSRFToken", "nope")
	}), csrf.ErrBadToken)
}

func TestMultipartFormToken(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", token)
	fw, _ := mw.CreateFormFile("file", "a.png")
	_, _ = fw.Write(make([]byte, 1000))
	_ = mw.Close()
	r := httptest.NewRequest("POST", "http://example.com/upload", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	sameOrigin(r)
	r.AddCookie(cookie)
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	// The handler still reads the whole body after the middleware read
	// the token from its first part.
	if rec.Code != 200 || rec.Body.String() != "1000" {
		t.Fatalf("multipart upload: %d %q, want 200 \"1000\"", rec.Code, rec.Body)
	}
}

// A token after the file part is not looked for: finding it would mean
// reading (and holding) the whole upload before the check. Read the whole
// multipart form in requestToken to see this fail.
func TestMultipartTokenMustComeFirst(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "a.png")
	_, _ = fw.Write(make([]byte, 1000))
	_ = mw.WriteField("csrf_token", token)
	_ = mw.Close()
	rec := a.postForm(t, "/upload", cookie, nil, func(r *http.Request) {
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.Body = io.NopCloser(&body)
	})
	if rec.Code != 403 {
		t.Fatalf("token after the file: %d, want 403", rec.Code)
	}
}

// A page on another site posting to us, with a token it somehow obtained,
// is refused on its origin alone.
func TestCrossSiteRefusedEvenWithValidToken(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	for _, site := range []string{"cross-site", "same-site"} {
		wantRefused(t, a.postForm(t, "/form", cookie, field(token), func(r *http.Request) {
			r.Header.Set("Sec-Fetch-Site", site)
			r.Header.Set("Origin", "https://evil.example")
		}), csrf.ErrCrossOrigin)
	}
}

// Browsers before Sec-Fetch-Site still send Origin on a cross-site POST.
func TestForeignOriginWithoutFetchMetadata(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	wantRefused(t, a.postForm(t, "/form", cookie, field(token), func(r *http.Request) {
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set("Origin", "https://evil.example")
	}), csrf.ErrCrossOrigin)
}

func TestTrustedOrigin(t *testing.T) {
	a := newApp(t, csrf.Options{TrustedOrigins: []string{"https://app.example"}})
	cookie, token := a.visit(t)
	fromApp := func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://app.example")
	}
	wantOK(t, a.postForm(t, "/form", cookie, field(token), fromApp))
	// Trust in the origin does not waive the token.
	wantRefused(t, a.postForm(t, "/form", cookie, nil, fromApp), csrf.ErrNoToken)
	// The scheme is part of the origin.
	wantRefused(t, a.postForm(t, "/form", cookie, field(token), func(r *http.Request) {
		fromApp(r)
		r.Header.Set("Origin", "http://app.example")
	}), csrf.ErrCrossOrigin)
}

// Without a token a same-origin-looking request is refused: a forged
// request from a browser that sends neither Sec-Fetch-Site nor Origin looks
// exactly like this.
func TestMissingToken(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	wantRefused(t, a.postForm(t, "/form", cookie, nil, func(r *http.Request) {
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Del("Origin")
	}), csrf.ErrNoToken)
	// The query string is not a place for tokens.
	wantRefused(t, a.postForm(t, "/form?csrf_token="+token, cookie, nil), csrf.ErrNoToken)
	// Nor is a JSON body.
	wantRefused(t, a.postForm(t, "/form", cookie, nil, func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
		r.Body = io.NopCloser(strings.NewReader(`{"csrf_token":"` + token + `"}`))
	}), csrf.ErrNoToken)
}

// An attacker with a session of their own gets valid tokens for it; they
// must not work in the victim's session.
func TestTokenFromAnotherSession(t *testing.T) {
	a := newApp(t, csrf.Options{})
	victim, _ := a.visit(t)
	_, attackerToken := a.visit(t)
	wantRefused(t, a.postForm(t, "/form", victim, field(attackerToken)), csrf.ErrBadToken)
}

// A session without a secret (new, or after logout) accepts no token and
// does not get a secret from the attempt.
func TestNoSecretNeverAccepts(t *testing.T) {
	a := newApp(t, csrf.Options{})
	_, token := a.visit(t)
	fresh := &http.Cookie{Name: "sid", Value: "fresh-session"}
	wantRefused(t, a.postForm(t, "/form", fresh, field(token)), csrf.ErrBadToken)
	if a.store.has("fresh-session") {
		t.Fatal("a refused POST created a secret")
	}
}

func TestRotateAndLogout(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, before := a.visit(t)
	rec := a.postForm(t, "/login", cookie, field(before))
	wantOK(t, rec)
	after := rec.Body.String()
	// Tokens issued before sign-in (possibly planted by an attacker who
	// fixed the session) stop working.
	wantRefused(t, a.postForm(t, "/form", cookie, field(before)), csrf.ErrBadToken)
	wantOK(t, a.postForm(t, "/form", cookie, field(after)))

	a.store.destroy(cookie.Value) // logout
	wantRefused(t, a.postForm(t, "/form", cookie, field(after)), csrf.ErrBadToken)
}

// BREACH: a compressed page must not repeat the same secret bytes on every
// render. Two tokens differ, both verify, and neither carries the secret.
func TestTokensAreMasked(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, _ := a.visit(t)
	r := httptest.NewRequest("GET", "http://example.com/tokens", nil)
	r.AddCookie(cookie)
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	t1, t2, _ := strings.Cut(rec.Body.String(), " ")
	if t1 == t2 {
		t.Fatal("two renders gave the same token")
	}
	wantOK(t, a.postForm(t, "/form", cookie, field(t1)))
	wantOK(t, a.postForm(t, "/form", cookie, field(t2)))

	secret := a.store.Get(context.WithValue(t.Context(), sidKey{}, cookie.Value))
	for _, tok := range []string{t1, t2} {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) != 64 {
			t.Fatalf("token %q: %v, %d bytes", tok, err, len(raw))
		}
		if bytes.Contains(raw, secret) || strings.Contains(tok, base64.RawURLEncoding.EncodeToString(secret)) {
			t.Fatalf("token %q carries the secret in the clear", tok)
		}
	}
}

func TestSafeMethodsNotChecked(t *testing.T) {
	a := newApp(t, csrf.Options{})
	for _, m := range []string{"GET", "HEAD", "OPTIONS", "TRACE"} {
		r := httptest.NewRequest(m, "http://example.com/form", nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://evil.example")
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			t.Errorf("%s: status %d, want 200", m, rec.Code)
		}
	}
	for _, m := range []string{"PUT", "PATCH", "DELETE", "PROPFIND"} {
		r := httptest.NewRequest(m, "http://example.com/form", nil)
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, r)
		if rec.Code != 403 {
			t.Errorf("%s without token: status %d, want 403", m, rec.Code)
		}
	}
}

func TestExemptPrefixes(t *testing.T) {
	a := newApp(t, csrf.Options{ExemptPrefixes: []string{"/api/", "/csp-report"}})
	crossSite := func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "https://evil.example")
	}
	for _, p := range []string{"/api/users", "/api/", "/api/files/3/delete", "/api/./users", "/csp-report"} {
		// Not refused (the mux may still redirect an unclean path).
		if rec := a.postForm(t, p, nil, nil, crossSite); rec.Code == http.StatusForbidden {
			t.Errorf("POST %s: 403 (%s), want exempt", p, rec.Body)
		}
	}
	for _, p := range []string{"/apix", "/api", "/api/../login", "/api/%2e%2e/login", "/api%2F..%2Flogin", "/x/api/users",
		"/csp-report/x", "/csp-reportx", "/csp-report/",
		"/api%2Fusers", // decodes to /api/users, but ServeMux sees one segment "api/users", not /api/
	} {
		rec := a.postForm(t, p, nil, nil, crossSite)
		if rec.Code != http.StatusForbidden {
			t.Errorf("POST %s: status %d, want 403 (not exempt)", p, rec.Code)
		}
	}
}

func TestMalformedTokens(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	flip := []byte(token)
	flip[40] ^= 1
	for name, bad := range map[string]string{
		"bad base64":       strings.Repeat("!", len(token)),
		"std alphabet":     strings.NewReplacer("-", "+", "_", "/").Replace(token) + "+",
		"padded":           token + "==",
		"short":            token[:len(token)-1],
		"long":             token + "A",
		"huge":             strings.Repeat("A", 1<<20),
		"unicode":          strings.Repeat("é", len(token)/2),
		"nul":              strings.Repeat("\x00", len(token)),
		"bit flipped":      string(flip),
		"raw secret-sized": base64.RawURLEncoding.EncodeToString(make([]byte, 32)),
		"zero mask":        base64.RawURLEncoding.EncodeToString(make([]byte, 64)),
	} {
		t.Run(name, func(t *testing.T) {
			wantRefused(t, a.postForm(t, "/form", cookie, field(bad)), csrf.ErrBadToken)
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	a := newApp(t, csrf.Options{})
	cookie, token := a.visit(t)
	big := url.Values{"csrf_token": {token}, "bio": {strings.Repeat("x", 2000)}}
	rec := a.postForm(t, "/form", cookie, big, func(r *http.Request) {
		r.Body = http.MaxBytesReader(nil, r.Body, 1000)
	})
	if rec.Code != 403 || rec.Body.String() != csrf.ErrTooLarge.Error() {
		t.Fatalf("status %d %q, want the ErrTooLarge reason", rec.Code, rec.Body)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", token)
	fw, _ := mw.CreateFormFile("file", "big.pdf")
	_, _ = fw.Write(make([]byte, 5000))
	_ = mw.Close()
	// The token is the first part, so only that is read here: the cap
	// is met while reading it only if it is tiny.
	rec = a.postForm(t, "/upload", cookie, nil, func(r *http.Request) {
		r.Header.Set("Content-Type", mw.FormDataContentType())
		r.Body = http.MaxBytesReader(nil, io.NopCloser(&body), 100)
	})
	if rec.Code != 403 || rec.Body.String() != csrf.ErrTooLarge.Error() {
		t.Fatalf("multipart: status %d %q, want the ErrTooLarge reason", rec.Code, rec.Body)
	}

	// The default ErrorHandler answers 413 for it, 403 otherwise.
	p, err := csrf.New(csrf.Options{Store: a.store})
	if err != nil {
		t.Fatal(err)
	}
	h := session(p.Handler(http.NotFoundHandler()))
	r := httptest.NewRequest("POST", "http://example.com/form", strings.NewReader(big.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Body = http.MaxBytesReader(nil, r.Body, 1000)
	r.AddCookie(cookie)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("default handler, body too large: %d, want 413", rec.Code)
	}
	r = httptest.NewRequest("POST", "http://example.com/form", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Reload the page") {
		t.Errorf("default handler, no token: %d %q, want 403 with advice", rec.Code, rec.Body)
	}
}

func TestNewValidates(t *testing.T) {
	store := newMemStore()
	for name, o := range map[string]csrf.Options{
		"no store":            {},
		"relative prefix":     {Store: store, ExemptPrefixes: []string{"api/"}},
		"root prefix":         {Store: store, ExemptPrefixes: []string{"/"}},
		"unclean prefix":      {Store: store, ExemptPrefixes: []string{"/api/../"}},
		"double slash":        {Store: store, ExemptPrefixes: []string{"//api/"}},
		"origin without host": {Store: store, TrustedOrigins: []string{"https://"}},
		"origin with path":    {Store: store, TrustedOrigins: []string{"https://app.example/x"}},
		"null origin":         {Store: store, TrustedOrigins: []string{"null"}},
		"bad header name":     {Store: store, HeaderNames: []string{"X CSRF"}},
	} {
		if _, err := csrf.New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
	if _, err := csrf.New(csrf.Options{Store: store, ExemptPrefixes: []string{"/api/", "/csp-report"}}); err != nil {
		t.Errorf("valid exempt paths refused: %v", err)
	}
}

func TestTemplateFieldAndOutsideMiddleware(t *testing.T) {
	p, err := csrf.New(csrf.Options{Store: newMemStore(), FieldName: `f"x`})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = string(csrf.TemplateField(r))
	})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if !strings.HasPrefix(got, `<input type="hidden" name="f&#34;x" value="`) || len(got) < 100 {
		t.Errorf("TemplateField = %q", got)
	}

	r := httptest.NewRequest("GET", "/", nil)
	if csrf.Token(r) != "" {
		t.Error("Token outside the middleware not empty")
	}
	csrf.Rotate(r) // must not panic
}

func TestErrorHandlerGetsReason(t *testing.T) {
	var reason error
	p, err := csrf.New(csrf.Options{Store: newMemStore(), ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		reason = err
		w.WriteHeader(http.StatusForbidden)
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	p.Handler(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), r)
	if !errors.Is(reason, csrf.ErrCrossOrigin) || errors.Is(reason, csrf.ErrBadToken) {
		t.Errorf("ErrorHandler got %v, want ErrCrossOrigin", reason)
	}
}

func BenchmarkHandlerPOST(b *testing.B) {
	a := newApp(b, csrf.Options{})
	cookie, token := a.visit(b)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("POST", "http://example.com/form", nil)
		r.Header.Set("X-CSRFToken", token)
		r.AddCookie(cookie)
		rec := httptest.NewRecorder()
		a.h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
