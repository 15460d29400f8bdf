package app

import (
	"io"
	"net/http"

	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/headers"
	"github.com/bulwarkhq/bulwark/internal/app/api"
	"github.com/bulwarkhq/bulwark/internal/app/pages"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/password/policy"
	"github.com/bulwarkhq/bulwark/session"
)

// Bounds kept as constants rather than settings, with the reason (DESIGN:
// every bound is a setting with a safe default, or says why not).
const (
	// maxSearchLength bounds the search text, in characters. CONTRACT
	// fixes it at 100 for both the page and the API.
	maxSearchLength = 100
)

// NewHandler returns the whole service. Reading it from the outside in:
// every request gets an id, its real client address, an access-log line and
// the security headers (with the HTTPS redirect); a Host not in
// ALLOWED_HOSTS is refused with 400. Then the routes: health
// checks and static files as they are; /api/ to the API group, which
// authenticates by key and never sees the session; everything else to the
// pages, inside the session and the CSRF check. Each group has its own rate
// limit, body cap, panic recovery and error responder.
func NewHandler(d *Deps) (http.Handler, error) {
	cfg := d.Config
	ips := clientip.New(cfg.TrustedProxies)
	pg, err := pages.New(pages.Options{
		Log: d.Log, DB: d.DB, Hasher: d.Hasher, IPs: ips,
		SessionStore: d.Sessions, SessionIndex: d.DB.SessionIndex(),
		Sessions: session.Config{
			Lifetime:    cfg.SessionLifetime,
			IdleTimeout: cfg.SessionIdleTimeout,
			MaxPerUser:  cfg.SessionMaxPerUser,
			Secure:      cfg.SessionCookieSecure,
		},
		Policy:       policy.Policy{MinLength: cfg.PasswordMinLength},
		Limits:       d.Limits,
		DefaultLimit: cfg.RateLimitDefault, LoginLimit: cfg.RateLimitLogin, FailOpen: cfg.RateLimitFailOpen,
		MaxBodyBytes: cfg.MaxContentLength, SecretKeys: d.SecretKeys, MaxSearchLength: maxSearchLength,
		Files: d.Files, Now: d.Now,
		Mail: d.mailer(), BaseURL: cfg.BaseURL, EmailVerification: cfg.EmailVerification,
		Meter: d.Metrics,
	})
	if err != nil {
		return nil, err
	}
	hooks, err := d.webhookVerifier()
	if err != nil {
		return nil, err
	}
	apiGroup, err := api.New(api.Options{
		Log: d.Log, DB: d.DB, Keys: d.DB, Hasher: d.Hasher, IPs: ips, Limits: d.Limits,
		Policy:       policy.Policy{MinLength: cfg.PasswordMinLength},
		DefaultLimit: cfg.RateLimitDefault, KeyLimit: cfg.RateLimitAPI, FailedKeyLimit: cfg.RateLimitLogin,
		FailOpen: cfg.RateLimitFailOpen, MaxBodyBytes: cfg.MaxContentLength, MaxSearchLength: maxSearchLength,
		Webhook: hooks, Files: d.Files, Meter: d.Metrics,
	})
	if err != nil {
		return nil, err
	}
	hosts := newHostCheck(cfg.AllowedHosts)
	hdrs, err := headers.New(headers.Policy{
		ReportURI:  "/csp-report",
		HSTSMaxAge: cfg.HSTSMaxAge,
		ForceHTTPS: cfg.ForceHTTPS,
		IsHTTPS:    ips.IsHTTPS,
		// A request for a host not in ALLOWED_HOSTS is not redirected
		// either: the redirect would send the browser to that host.
		RedirectExempt: func(r *http.Request) bool { return isHealthCheck(r) || !hosts.allowed(r.Host) },
	})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", d.readyz)
	mux.Handle("GET /static/", http.StripPrefix("/static/", pages.Static()))
	mux.Handle("/api/", apiGroup.Handler())
	mux.Handle("/", pg.Handler())

	// /metrics is deliberately not here: it is served on METRICS_ADDR only.
	var h http.Handler = web.Routed(mux)
	h = hosts.Handler(h)
	h = hdrs.Handler(h)
	h = web.AccessLog(d.Log, h)
	h = ips.Handler(h)
	h = web.RequestIDs(ips, h)
	h = d.Metrics.Instrument(h)
	return h, nil
}

// isHealthCheck reports the load balancer's probes, which FORCE_HTTPS
// leaves on plain HTTP.
func isHealthCheck(r *http.Request) bool {
	return r.URL.Path == "/healthz" || r.URL.Path == "/readyz"
}

func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "ok")
}

func (d *Deps) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := d.Ready(r.Context()); err != nil {
		d.Log.WarnContext(r.Context(), "not ready", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "unavailable")
		return
	}
	_, _ = io.WriteString(w, "ok")
}
