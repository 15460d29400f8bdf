package session_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/session"
)

// csrfApp wires session and csrf the way the service does: signed-in
// requests keep their CSRF secret in the session, anonymous ones in a
// signed cookie, and every renewal rotates it.
func csrfApp(t *testing.T, st stored) (*app, *spyStore) {
	t.Helper()
	spy := &spyStore{inner: st.open(t)}
	a := &app{}
	cfg := secureCfg()
	cfg.OnRenew = csrf.Rotate
	m, err := session.New(spy, session.NewMemoryIndex(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.m = m
	p, err := csrf.New(csrf.Options{
		Store:      m.Value("csrf.secret"),
		CookieKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		UseCookie: func(r *http.Request) bool {
			_, signedIn := m.UserID(r.Context())
			return !signedIn
		},
		Secure: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, csrf.Token(r))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Login(r, 1, session.LoginOptions{}); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /password", func(w http.ResponseWriter, r *http.Request) {
		if err := m.RenewAndRevokeOthers(r, 1); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Logout(r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /form", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	a.h = m.Handler(p.Handler(mux))
	return a, spy
}

// post sends a same-origin form POST with token.
func (b *browser) post(target, token string) int {
	b.t.Helper()
	r := httptest.NewRequest("POST", "https://bulwark.test"+target, strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.send(r).StatusCode
}

var csrfCases = []testCase{
	// Finding 8: showing the sign-in form to anyone who asks must not
	// fill the session store. (Make UseCookie return false to see it fill.)
	{"anonymous form pages write nothing to the store", func(t *testing.T, st stored) {
		a, spy := csrfApp(t, st)
		for range 1000 {
			b := newBrowser(t, a, cookieSecure)
			if got := b.body("GET", "/form"); got == "" {
				t.Fatal("no token on the form")
			}
			if b.token() != "" {
				t.Fatal("an anonymous form page started a session")
			}
			if len(b.jar) != 1 || b.jar["__Host-csrf"] == nil {
				t.Fatalf("cookies after a form page: %v, want only __Host-csrf", b.jar)
			}
		}
		if n := st.count(t); n != 0 || spy.commits.Load() != 0 {
			t.Errorf("1000 anonymous form pages left %d sessions (%d commits), want none", n, spy.commits.Load())
		}
		// The form still works: its token verifies against the cookie.
		b := newBrowser(t, a, cookieSecure)
		if code := b.post("/form", b.body("GET", "/form")); code != http.StatusNoContent {
			t.Errorf("anonymous POST with its token: %d", code)
		}
		if st.count(t) != 0 {
			t.Error("an anonymous POST wrote a session")
		}
	}},

	// Tokens die with every renewal. (Remove cfg.OnRenew above to see the
	// token from before the password change still pass.)
	{"sign-in switches to the session's secret; renewals rotate it", func(t *testing.T, st stored) {
		a, _ := csrfApp(t, st)
		b := newBrowser(t, a, cookieSecure)
		anonToken := b.body("GET", "/form")
		if code := b.post("/login", "forged"); code != http.StatusForbidden {
			t.Fatalf("login without a valid token: %d, want 403 (login CSRF)", code)
		}
		if code := b.post("/login", anonToken); code != http.StatusNoContent {
			t.Fatalf("login with the cookie's token: %d", code)
		}
		if b.jar["__Host-csrf"] != nil {
			t.Error("the anonymous CSRF cookie survived sign-in")
		}
		if code := b.post("/form", anonToken); code != http.StatusForbidden {
			t.Errorf("signed in, the anonymous token: %d, want 403", code)
		}
		before := b.body("GET", "/form")
		if code := b.post("/form", before); code != http.StatusNoContent {
			t.Fatalf("signed in, a session token: %d", code)
		}
		if code := b.post("/password", before); code != http.StatusNoContent {
			t.Fatalf("password change: %d", code)
		}
		if code := b.post("/form", before); code != http.StatusForbidden {
			t.Errorf("a token from before the password change: %d, want 403", code)
		}
		after := b.body("GET", "/form")
		if code := b.post("/form", after); code != http.StatusNoContent {
			t.Errorf("a token from after the password change: %d", code)
		}
		if code := b.post("/logout", after); code != http.StatusNoContent {
			t.Fatalf("logout: %d", code)
		}
		if code := b.post("/form", after); code != http.StatusForbidden {
			t.Errorf("a signed-in token after logout: %d, want 403", code)
		}
	}},
}
