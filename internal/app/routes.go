package app

import (
	"io/fs"
	"net/http"
)

// Handler returns the whole service. Reading it from the outside in: every
// request gets an id, an access-log line, its real client address, the
// security headers (and the HTTPS redirect), panic recovery, the body cap and
// the default rate limit. Pages then get the session and the CSRF check; the
// JSON API under /api/ authenticates by key only and never sees the session
// cookie, which is why it is CSRF-exempt.
func (a *App) Handler() http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", a.home)
	pages.HandleFunc("GET /register", a.registerForm)
	pages.HandleFunc("POST /register", a.register)
	pages.HandleFunc("GET /login", a.loginForm)
	pages.Handle("POST /login", a.loginLimit.Handler(http.HandlerFunc(a.login)))
	pages.HandleFunc("POST /logout", a.logout)
	pages.HandleFunc("GET /account", a.signedIn(a.account))
	pages.HandleFunc("POST /account/profile", a.signedIn(a.updateProfile))
	pages.HandleFunc("POST /account/password", a.signedIn(a.changePassword))
	pages.HandleFunc("POST /account/sessions/{id}/revoke", a.signedIn(a.revokeSession))
	pages.HandleFunc("GET /search", a.signedIn(a.search))
	pages.HandleFunc("/", a.notFound)
	withSession := a.sessions.Handler(markSession(a.csrf.Handler(pages)))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	static, _ := fs.Sub(staticFiles, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("POST /csp-report", a.cspReport)
	mux.HandleFunc("/api/", a.apiNotFound)
	mux.Handle("/", withSession)

	var h http.Handler = mux
	h = a.defaultLimit.Handler(h)
	h = a.limitBody(h)
	h = a.recoverPanics(h)
	h = a.headers.Handler(h)
	h = a.accessLog(h)
	h = a.ips.Middleware(h)
	h = a.requestID(h)
	return h
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}
