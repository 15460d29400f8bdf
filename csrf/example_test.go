package csrf_test

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwarkhq/bulwark/csrf"
)

// scsStore keeps the CSRF secret in an scs session.
type scsStore struct{ sm *scs.SessionManager }

func (s scsStore) Get(ctx context.Context) []byte { return s.sm.GetBytes(ctx, "csrf_secret") }
func (s scsStore) Put(ctx context.Context, secret []byte) {
	s.sm.Put(ctx, "csrf_secret", secret)
}

func Example() {
	sessions := scs.New()
	protection, err := csrf.New(csrf.Options{
		Store:          scsStore{sessions},
		ExemptPrefixes: []string{"/api/"}, // authenticated by API key, never by cookie
	})
	if err != nil {
		panic(err)
	}

	form := template.Must(template.New("form").Parse(
		`<form method="post" action="/profile">{{.}}<input name="name"></form>`))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		_ = form.Execute(w, csrf.TemplateField(r))
	})
	mux.HandleFunc("POST /profile", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "saved")
	})
	// The session layer goes outside, so the secret lives in the session.
	srv := sessions.LoadAndSave(protection.Handler(mux))

	// The browser loads the form...
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/profile", nil))
	cookie := rec.Result().Cookies()[0]
	token := regexp.MustCompile(`value="([^"]+)"`).FindStringSubmatch(rec.Body.String())[1]

	post := func(values url.Values, fetchSite string) int {
		r := httptest.NewRequest("POST", "http://example.com/profile", strings.NewReader(values.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", fetchSite)
		r.AddCookie(cookie)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		return rec.Code
	}
	// ...and submits it.
	fmt.Println(post(url.Values{"csrf_token": {token}, "name": {"Ada"}}, "same-origin"))
	// A forged form on another site has the cookie but no token.
	fmt.Println(post(url.Values{"name": {"Mallory"}}, "same-origin"))
	// And the browser says where it came from.
	fmt.Println(post(url.Values{"csrf_token": {token}, "name": {"Mallory"}}, "cross-site"))
	// Output:
	// 200
	// 403
	// 403
}

// Anonymous visitors get their secret in a signed cookie, so showing them
// the sign-in form stores nothing on the server; signed-in requests use the
// secret in their session.
func Example_anonymousVisitors() {
	sessions := scs.New()
	signedIn := func(r *http.Request) bool { return sessions.Exists(r.Context(), "user_id") }
	protection, err := csrf.New(csrf.Options{
		Store:      scsStore{sessions},
		CookieKeys: [][]byte{[]byte("a key of at least 32 random bytes, e.g. from SECRET_KEY")},
		UseCookie:  func(r *http.Request) bool { return !signedIn(r) },
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, csrf.TemplateField(r))
	})
	srv := sessions.LoadAndSave(protection.Handler(mux))

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "http://example.com/login", nil))
	for _, c := range rec.Result().Cookies() {
		fmt.Println("cookie:", c.Name, "HttpOnly:", c.HttpOnly, "browser session:", c.MaxAge == 0)
	}
	// Output:
	// cookie: bulwark_csrf HttpOnly: true browser session: true
}
