package csrf_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/bulwarkhq/bulwark/csrf"
)

func newKey() []byte { return []byte(rand.Text() + rand.Text()) } // 52 bytes

// cookieApp plays a service whose visitors are anonymous until they sign
// in: no session exists before POST /login (which makes one, named by the
// "sid" cookie), so anonymous requests use the CSRF cookie and signed-in
// ones the session's secret.
type cookieApp struct {
	store    *memStore
	mu       sync.Mutex
	signedIn map[string]bool
	h        http.Handler
}

func newCookieApp(t testing.TB, o csrf.Options) *cookieApp {
	t.Helper()
	a := &cookieApp{store: newMemStore(), signedIn: map[string]bool{}}
	o.Store = a.store
	if o.CookieKeys == nil {
		o.CookieKeys = [][]byte{newKey()}
	}
	o.UseCookie = func(r *http.Request) bool { return !a.isSignedIn(r.Context()) }
	o.ErrorHandler = writeReason
	p, err := csrf.New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /token", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, csrf.Token(r))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		sid := rand.Text()
		a.mu.Lock()
		a.signedIn[sid] = true
		a.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid})
		r = r.WithContext(context.WithValue(r.Context(), sidKey{}, sid))
		csrf.Rotate(r) // what session.Config.OnRenew does
		_, _ = io.WriteString(w, csrf.Token(r))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	// Sessions are only read here, never started: that is the point.
	a.h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sid"); err == nil {
			r = r.WithContext(context.WithValue(r.Context(), sidKey{}, c.Value))
		}
		p.Handler(mux).ServeHTTP(w, r)
	})
	return a
}

func (a *cookieApp) isSignedIn(ctx context.Context) bool {
	sid, _ := ctx.Value(sidKey{}).(string)
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.signedIn[sid]
}

// do sends a same-origin request carrying cookies and, for a POST, token
// in the form.
func (a *cookieApp) do(t testing.TB, method, target, token string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if token != "" {
		body = strings.NewReader(field(token).Encode())
	}
	r := httptest.NewRequest(method, "http://example.com"+target, body)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sameOrigin(r)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	return rec
}

// anonymous loads a form page without cookies and returns the CSRF cookie
// and token it got.
func (a *cookieApp) anonymous(t testing.TB) (*http.Cookie, string) {
	t.Helper()
	rec := a.do(t, "GET", "/token", "")
	cookies := rec.Result().Cookies()
	if rec.Code != 200 || len(cookies) != 1 || rec.Body.Len() == 0 {
		t.Fatalf("GET /token: %d %q %q", rec.Code, rec.Header().Values("Set-Cookie"), rec.Body)
	}
	return cookies[0], rec.Body.String()
}

func TestCookieAttributes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		a := newCookieApp(t, csrf.Options{Secure: secure})
		c, _ := a.anonymous(t)
		name := "bulwark_csrf"
		if secure {
			name = "__Host-csrf"
		}
		raw := a.do(t, "GET", "/token", "").Header().Get("Set-Cookie")
		if c.Name != name || c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
			c.Path != "/" || c.Domain != "" || c.MaxAge != 0 || !c.Expires.IsZero() {
			t.Errorf("secure=%v: Set-Cookie %q; want %s, HttpOnly, SameSite=Lax, Path=/, no Domain, a browser-session cookie", secure, raw, name)
		}
	}
}

func TestCookieRoundTrip(t *testing.T) {
	a := newCookieApp(t, csrf.Options{})
	c, token := a.anonymous(t)
	wantOK(t, a.do(t, "POST", "/form", token, c))
	// The cookie is read again, not replaced, on the next form.
	rec := a.do(t, "GET", "/token", "", c)
	if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("a second form page set %q, want no new cookie", got)
	}
	wantOK(t, a.do(t, "POST", "/form", rec.Body.String(), c))
	wantOK(t, a.do(t, "POST", "/form", token, c)) // earlier tokens still verify
	// The header works as the field does.
	r := httptest.NewRequest("POST", "http://example.com/form", nil)
	sameOrigin(r)
	r.Header.Set("X-CSRFToken", token)
	r.AddCookie(c)
	rec = httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	wantOK(t, rec)
}

// A forged cross-site POST carries the victim's cookie (the browser adds
// it) but cannot read it, so it has no token to match; from a browser that
// says where it came from, it is refused on its origin alone.
// (Make check skip the token comparison to see the first case pass.)
func TestCookieForgedCrossSite(t *testing.T) {
	a := newCookieApp(t, csrf.Options{})
	victim, token := a.anonymous(t)
	wantRefused(t, a.do(t, "POST", "/form", "", victim), csrf.ErrNoToken)
	rec := a.do(t, "POST", "/form", token, victim)
	wantOK(t, rec)
	r := httptest.NewRequest("POST", "http://example.com/form", strings.NewReader(field(token).Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	r.AddCookie(victim)
	rec = httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	wantRefused(t, rec, csrf.ErrCrossOrigin)
}

// An attacker fetches a form page for a cookie and token of their own and
// posts that token from their page; the victim's browser sends the
// victim's cookie, so the token does not match.
// (Make verify compare the token with any validly signed secret, or skip it,
// to see this fail.)
func TestCookieAttackerPairWithVictimCookie(t *testing.T) {
	a := newCookieApp(t, csrf.Options{})
	victim, _ := a.anonymous(t)
	_, attackerToken := a.anonymous(t)
	wantRefused(t, a.do(t, "POST", "/form", attackerToken, victim), csrf.ErrBadToken)
}

// A cookie the application did not sign is refused, whatever token goes
// with it. (Make decodeCookie skip the HMAC check to see this fail.)
func TestCookieSignedWithWrongKey(t *testing.T) {
	a := newCookieApp(t, csrf.Options{})
	other := newCookieApp(t, csrf.Options{}) // same code, another key
	forged, token := other.anonymous(t)
	wantRefused(t, a.do(t, "POST", "/form", token, forged), csrf.ErrBadToken)

	// Nor does a cookie that holds only a secret, or one with a bit flipped.
	raw, _ := base64.RawURLEncoding.DecodeString(forged.Value)
	bare := &http.Cookie{Name: forged.Name, Value: base64.RawURLEncoding.EncodeToString(raw[:32])}
	wantRefused(t, a.do(t, "POST", "/form", token, bare), csrf.ErrBadToken)
	good, goodToken := a.anonymous(t)
	raw, _ = base64.RawURLEncoding.DecodeString(good.Value)
	raw[40] ^= 1
	flipped := &http.Cookie{Name: good.Name, Value: base64.RawURLEncoding.EncodeToString(raw)}
	wantRefused(t, a.do(t, "POST", "/form", goodToken, flipped), csrf.ErrBadToken)
	for _, v := range []string{"", "x", strings.Repeat("A", 86), good.Value + "A", strings.Repeat("é", 43)} {
		wantRefused(t, a.do(t, "POST", "/form", goodToken, &http.Cookie{Name: good.Name, Value: v}), csrf.ErrBadToken)
	}
}

// Keys rotate: a cookie signed with a key that is now a fallback still
// verifies, and the next form page signs it again with the current key,
// keeping the secret so tokens already in open pages stay valid. A key
// that is no longer listed verifies nothing.
// (Make decodeCookie try only keys[0] to see this fail.)
func TestCookieFallbackKey(t *testing.T) {
	oldKey, newKey := newKey(), newKey()
	before := newCookieApp(t, csrf.Options{CookieKeys: [][]byte{oldKey}})
	c, token := before.anonymous(t)

	after := newCookieApp(t, csrf.Options{CookieKeys: [][]byte{newKey, oldKey}})
	wantOK(t, after.do(t, "POST", "/form", token, c))
	rec := after.do(t, "GET", "/token", "", c)
	resigned := rec.Result().Cookies()
	if len(resigned) != 1 || resigned[0].Value == c.Value {
		t.Fatalf("a fallback-signed cookie was not signed again: %q", rec.Header().Values("Set-Cookie"))
	}
	wantOK(t, after.do(t, "POST", "/form", token, resigned[0]))

	retired := newCookieApp(t, csrf.Options{CookieKeys: [][]byte{newKey}})
	wantRefused(t, retired.do(t, "POST", "/form", token, c), csrf.ErrBadToken)
	wantOK(t, retired.do(t, "POST", "/form", token, resigned[0]))
}

// A POST never creates the secret it is checked against, and anonymous
// form pages write nothing on the server.
// (Make UseCookie return false to see the store fill up.)
func TestCookieNoServerState(t *testing.T) {
	a := newCookieApp(t, csrf.Options{})
	_, token := a.anonymous(t)
	rec := a.do(t, "POST", "/form", token)
	wantRefused(t, rec, csrf.ErrBadToken)
	if got := rec.Header().Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("a refused POST set %q", got)
	}
	for range 1000 {
		a.anonymous(t)
	}
	a.store.mu.Lock()
	defer a.store.mu.Unlock()
	if n := len(a.store.m); n != 0 {
		t.Errorf("1000 anonymous form pages stored %d secrets, want 0", n)
	}
}

// Signing in switches the request to the session's secret: the POST /login
// is checked against the cookie, Rotate (from the session's OnRenew) gives
// the session a secret and deletes the cookie, and an anonymous token no
// longer works. (Make Rotate keep the cookie to see the cookie survive; the
// token is refused regardless, since signed-in requests never read it.)
func TestSignInSwitchesToSession(t *testing.T) {
	a := newCookieApp(t, csrf.Options{})
	c, anonToken := a.anonymous(t)
	wantRefused(t, a.do(t, "POST", "/login", "", c), csrf.ErrNoToken) // login CSRF
	rec := a.do(t, "POST", "/login", anonToken, c)
	wantOK(t, rec)
	var sid *http.Cookie
	deleted := false
	for _, k := range rec.Result().Cookies() {
		switch k.Name {
		case "sid":
			sid = k
		case c.Name:
			deleted = k.MaxAge < 0 && k.Value == ""
		}
	}
	if sid == nil || !deleted {
		t.Fatalf("login response set %q, want the session and the CSRF cookie deleted", rec.Header().Values("Set-Cookie"))
	}
	sessionToken := rec.Body.String()
	wantRefused(t, a.do(t, "POST", "/form", anonToken, sid, c), csrf.ErrBadToken)
	wantOK(t, a.do(t, "POST", "/form", sessionToken, sid))
	// The session's token is no good to an anonymous request either.
	wantRefused(t, a.do(t, "POST", "/form", sessionToken, c), csrf.ErrBadToken)
}

func TestCookieOnlyProtection(t *testing.T) {
	// Without a Store every request uses the cookie: a stateless service.
	p, err := csrf.New(csrf.Options{CookieKeys: [][]byte{newKey()}})
	if err != nil {
		t.Fatal(err)
	}
	var token string
	rec := httptest.NewRecorder()
	p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token = csrf.Token(r)
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	c := rec.Result().Cookies()
	if len(c) != 1 || token == "" {
		t.Fatalf("cookie-only GET: %q, token %q", rec.Header().Values("Set-Cookie"), token)
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(c[0])
	rec = httptest.NewRecorder()
	p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("cookie-only POST: %d %s", rec.Code, rec.Body)
	}
}

func TestCookieOptionsValidated(t *testing.T) {
	store := newMemStore()
	anon := func(*http.Request) bool { return true }
	for name, o := range map[string]csrf.Options{
		"UseCookie without keys":           {Store: store, UseCookie: anon},
		"store and keys without UseCookie": {Store: store, CookieKeys: [][]byte{newKey()}},
		"short key":                        {CookieKeys: [][]byte{bytes.Repeat([]byte{1}, 31)}},
		"short fallback key":               {CookieKeys: [][]byte{newKey(), []byte("old")}},
	} {
		if _, err := csrf.New(o); err == nil || !strings.HasPrefix(err.Error(), "csrf: ") {
			t.Errorf("%s: New = %v, want a csrf: error", name, err)
		}
	}
}
