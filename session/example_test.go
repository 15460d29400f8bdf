package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/session"
)

func Example() {
	// memstore and the memory index suit one process; use goredisstore,
	// postgresstore or sqlite3store, and an index in a shared database, to
	// keep sessions across restarts and instances.
	sessions, err := session.New(memstore.New(), session.NewMemoryIndex(), session.Config{Secure: true})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		userID := int64(42) // after checking the password
		remember := r.FormValue("remember") == "on"
		if err := sessions.Login(r, userID, session.LoginOptions{Remember: remember}); err != nil {
			http.Error(w, "Could not sign you in. Please try again.", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		userID, ok := sessions.UserID(r.Context())
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		fmt.Fprintf(w, "signed in as user %s", strconv.FormatInt(userID, 10))
	})
	handler := sessions.Handler(mux)

	// A browser signs in and gets the session cookie, which lasts for the
	// browser session because "remember" was not ticked...
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/login", nil))
	cookie := rec.Result().Cookies()[0]
	fmt.Println(rec.Code, cookie.Name, "HttpOnly:", cookie.HttpOnly, "Secure:", cookie.Secure, "Max-Age:", cookie.MaxAge)

	// ...and presents it on its next request.
	req := httptest.NewRequest("GET", "https://example.com/account", nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output:
	// 303 __Host-bulwark_session HttpOnly: true Secure: true Max-Age: 0
	// signed in as user 42
}

// A one-time message shown on the next page.
func ExampleManager_Value() {
	sessions, err := session.New(memstore.New(), session.NewMemoryIndex(), session.Config{})
	if err != nil {
		panic(err)
	}
	flash := sessions.Value("flash")
	handler := sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			flash.Put(r.Context(), []byte("Profile saved."))
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		fmt.Fprintf(w, "message: %q", flash.Pop(r.Context()))
	}))

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	cookie := rec.Result().Cookies()[0]
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		rec = httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Body.String())
	}
	// Output:
	// message: "Profile saved."
	// message: ""
}

// The wiring for CSRF protection: signed-in requests keep their secret in
// the session, anonymous ones in a signed cookie (so the sign-in form
// stores nothing), and every renewal of the session rotates the secret.
func Example_csrf() {
	sessions, err := session.New(memstore.New(), session.NewMemoryIndex(), session.Config{
		Secure:  true,
		OnRenew: csrf.Rotate,
	})
	if err != nil {
		panic(err)
	}
	protection, err := csrf.New(csrf.Options{
		Store:      sessions.Value("csrf.secret"),
		CookieKeys: [][]byte{[]byte("a key of at least 32 random bytes, e.g. from SECRET_KEY")},
		UseCookie: func(r *http.Request) bool {
			_, signedIn := sessions.UserID(r.Context())
			return !signedIn
		},
		Secure: true,
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, string(csrf.TemplateField(r)))
	})
	handler := sessions.Handler(protection.Handler(mux))

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/login", nil))
	for _, c := range rec.Result().Cookies() {
		fmt.Println(c.Name)
	}
	// Output:
	// __Host-csrf
}
