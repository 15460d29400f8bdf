// Package pages is the service's HTML side: sign-up, sign-in, the account
// page and people search. Every page runs inside the session and the CSRF
// check; handlers return errors, and one responder renders them as pages.
package pages

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/internal/app/files"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/password/policy"
	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/session"
)

// Options are what the pages need. All but Policy are required.
type Options struct {
	Log    *slog.Logger
	DB     *store.DB
	Hasher *password.Hasher
	Policy policy.Policy
	// SessionStore holds session data and SessionIndex each user's
	// sessions; Sessions sets lifetimes and the cookie (its ClientIP,
	// ErrorHandler and OnRenew are the pages' own).
	SessionStore scs.Store
	SessionIndex session.Index
	Sessions     session.Config
	IPs          *clientip.Resolver // the client address behind trusted proxies
	// Limits holds the rate-limit budgets, shared with the other handler
	// groups (the "default" policy is one budget per client for the site).
	Limits       ratelimit.Store
	DefaultLimit []ratelimit.Limit
	LoginLimit   []ratelimit.Limit // per client address on POST /login and POST /register
	FailOpen     bool              // the default limit lets requests through when Limits fails
	MaxBodyBytes int64
	// SecretKeys sign what the browser keeps (the CSRF cookie of anonymous
	// visitors, the device cookie) and name accounts in the limit store.
	// The first signs; all verify (SECRET_KEY_FALLBACKS).
	SecretKeys      [][]byte
	MaxSearchLength int // bound on the search text, in characters
	// Files serves the file routes; nil turns them off (404).
	Files *files.Service
	// Mail queues the verification, reset and notice mails; nil (SMTP_URL
	// unset in production) turns password reset off.
	Mail Mailer
	// BaseURL is the public origin (BASE_URL) that links in mail are
	// built from, never the request's Host header; also the passkeys'
	// relying party ("" or an IP address host turns passkeys off).
	BaseURL string
	// EmailVerification is config.VerificationOptional, Mandatory or None.
	EmailVerification string
	// Now is the clock of the two-step sign-in (its five minutes, the TOTP
	// time step); nil is time.Now. Tests move it.
	Now func() time.Time
	// Meter counts refusals, security events and server errors for the
	// service's metrics; nil counts nothing.
	Meter web.Meter
}

// Pages serves the HTML pages.
type Pages struct {
	log       *slog.Logger
	db        *store.DB
	hasher    *password.Hasher
	policy    policy.Policy
	sessions  *session.Manager
	csrf      *csrf.Protection
	templates map[string]*template.Template
	events    web.Events
	files     *files.Service
	twofactor twoFactor // TOTP and recovery codes, see twofactor.go
	passkeys  passkeys  // WebAuthn, see passkeys.go

	flashes     *session.Value // a one-time message for the next page
	credentials *session.Value // the credential version the session was started under

	defaultLimit *ratelimit.Limiter
	loginLimit   *ratelimit.Limiter // per client address on POST /login
	signupLimit  *ratelimit.Limiter // per client address on POST /register
	signin       signinBudgets
	forgotLimit  *ratelimit.Limiter // per client address on POST /password/forgot and /password/reset
	resetLimits  struct{ address, account *ratelimit.Limiter }

	mail         Mailer // nil: no mail can be sent (recovery off)
	baseURL      string
	verification string
	now          func() time.Time
	bgSlots      chan struct{} // bounds the mail work left running after a response, see recovery.go

	// errors renders errors inside the session (with the user and the
	// flash); bareErrors renders them for the middleware that runs before
	// the session is loaded.
	errors, bareErrors web.Responder

	meter        web.Meter // nil: no metrics
	keys         [][]byte
	secureCookie bool
	maxBody      int64
	maxSearch    int
}

// New builds the pages from o.
func New(o Options) (*Pages, error) {
	if o.Log == nil || o.DB == nil || o.Hasher == nil || o.SessionStore == nil || o.SessionIndex == nil ||
		o.Limits == nil || len(o.SecretKeys) == 0 {
		return nil, errors.New("pages: Log, DB, Hasher, SessionStore, SessionIndex, Limits and SecretKeys are required")
	}
	p := &Pages{
		log: o.Log, db: o.DB, hasher: o.Hasher, policy: o.Policy,
		events: web.Events{DB: o.DB, Log: o.Log, Meter: o.Meter}, keys: o.SecretKeys, files: o.Files, meter: o.Meter,
		secureCookie: o.Sessions.Secure, maxBody: o.MaxBodyBytes, maxSearch: o.MaxSearchLength,
	}
	p.errors = web.Responder{Log: o.Log, Write: p.writeError, Meter: o.Meter}
	p.bareErrors = web.Responder{Log: o.Log, Write: p.writeBareError, Meter: o.Meter}
	var err error
	if p.templates, err = parseTemplates(); err != nil {
		return nil, err
	}

	sc := o.Sessions
	sc.ClientIP = web.ClientAddr
	sc.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		p.bareErrors.Error(w, r, web.Unavailable("session store", err))
	}
	sc.OnRenew = csrf.Rotate // a new session token always comes with a new CSRF secret
	if p.sessions, err = session.New(o.SessionStore, o.SessionIndex, sc); err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	p.flashes = p.sessions.Value("flash")
	p.credentials = p.sessions.Value("credential_version")
	p.mail, p.baseURL, p.verification = o.Mail, o.BaseURL, o.EmailVerification
	p.now = o.Now
	if p.now == nil {
		p.now = time.Now
	}
	p.bgSlots = make(chan struct{}, maxBackground)
	if p.twofactor, err = newTwoFactor(o, p); err != nil {
		return nil, err
	}
	if p.passkeys, err = newPasskeys(o, p); err != nil {
		return nil, err
	}

	// Signed-in requests keep their CSRF secret in the session; anonymous
	// ones in a signed cookie, so a visitor who only loads a form writes
	// nothing on the server.
	p.csrf, err = csrf.New(csrf.Options{
		Store:        p.sessions.Value("csrf.secret"),
		CookieKeys:   o.SecretKeys,
		UseCookie:    func(r *http.Request) bool { _, in := p.sessions.UserID(r.Context()); return !in },
		Secure:       o.Sessions.Secure,
		ErrorHandler: p.csrfFailed,
	})
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}

	byIP := ratelimit.ByIP(o.IPs)
	limiters := []struct {
		l        **ratelimit.Limiter
		name     string
		limits   []ratelimit.Limit
		failOpen bool
		errors   web.Responder
	}{
		{&p.defaultLimit, "default", o.DefaultLimit, o.FailOpen, p.bareErrors},
		// Sign-in and sign-up never run unlimited.
		{&p.loginLimit, "login", o.LoginLimit, false, p.errors},
		{&p.signupLimit, "register", o.LoginLimit, false, p.errors},
		{&p.signin.network, "account-network", ratelimit.MustParse(accountNetworkLimit), false, p.errors},
		{&p.signin.account, "account", ratelimit.MustParse(accountLimit), false, p.errors},
		{&p.forgotLimit, "forgot", o.LoginLimit, false, p.errors},
		{&p.resetLimits.address, "reset-address", ratelimit.MustParse(resetAddressLimit), false, p.errors},
		{&p.resetLimits.account, "reset-account", ratelimit.MustParse(resetAccountLimit), false, p.errors},
	}
	for _, l := range limiters {
		*l.l, err = ratelimit.New(ratelimit.Options{
			Store: o.Limits, Limits: l.limits, Name: l.name, Key: byIP, FailOpen: l.failOpen, Logger: o.Log,
			ErrorHandler: web.LimitErrors(l.errors), Observer: o.Meter,
		})
		if err != nil {
			return nil, fmt.Errorf("pages: %s limit: %w", l.name, err)
		}
	}
	return p, nil
}

// Handler returns the pages with their middleware: panic recovery, the body
// cap and the default rate limit, then the session and the CSRF check.
func (p *Pages) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, f web.HandlerFunc) { mux.Handle(pattern, p.errors.Handle(f)) }
	handle("GET /{$}", p.home)
	handle("GET /register", p.registerForm)
	mux.Handle("POST /register", p.signupLimit.Handler(p.errors.Handle(p.register)))
	handle("GET /login", p.loginForm)
	mux.Handle("POST /login", p.loginLimit.Handler(p.errors.Handle(p.login)))
	handle("POST /logout", p.logout)
	handle("GET /account", p.signedIn(p.account))
	handle("POST /account/profile", p.signedIn(p.updateProfile))
	handle("POST /account/password", p.signedIn(p.changePassword))
	handle("POST /account/sessions/{id}/revoke", p.signedIn(p.revokeSession))
	handle("POST /account/apikeys", p.signedIn(p.createAPIKey))
	handle("POST /account/apikeys/{id}/revoke", p.signedIn(p.revokeAPIKey))
	handle("POST /files", p.signedIn(p.uploadFile))
	handle("GET /files/{id}", p.signedIn(p.downloadFile))
	handle("POST /files/{id}/delete", p.signedIn(p.deleteFile))
	handle("GET /search", p.signedIn(p.search))
	handle("GET /password/forgot", p.forgotForm)
	mux.Handle("POST /password/forgot", p.forgotLimit.Handler(p.errors.Handle(p.forgot)))
	handle("GET /password/reset", p.resetPage)
	mux.Handle("POST /password/reset", p.forgotLimit.Handler(p.errors.Handle(p.reset)))
	handle("GET /verify-email", p.verifyEmail)
	handle("POST /account/email", p.signedIn(p.changeEmail))
	handle("POST /account/email/verify", p.signedIn(p.resendVerification))
	handle("GET /login/2fa", p.secondStepForm)
	mux.Handle("POST /login/2fa", p.loginLimit.Handler(p.errors.Handle(p.secondStep)))
	handle("POST /account/2fa/totp", p.signedIn(p.startTOTP))
	handle("GET /account/2fa/totp/qr.png", p.signedIn(p.totpQR))
	handle("POST /account/2fa/totp/confirm", p.signedIn(p.confirmTOTP))
	handle("POST /account/2fa/disable", p.signedIn(p.disableTOTP))
	handle("POST /account/2fa/recovery-codes", p.signedIn(p.regenerateRecoveryCodes))
	p.passkeyRoutes(mux, handle)
	handle("/", func(http.ResponseWriter, *http.Request) error {
		return web.NotFound("There is no page at this address.")
	})
	// Routed hands the matched pattern out to the metrics (package web).
	withSession := p.sessions.Handler(p.csrf.Handler(web.Routed(mux)))

	// CSP reports come from browsers without a session or a token.
	outer := http.NewServeMux()
	outer.Handle("POST /csp-report", http.HandlerFunc(p.cspReport))
	outer.Handle("/", withSession)

	var h http.Handler = web.Routed(outer)
	h = p.defaultLimit.Handler(h)
	h = p.bareErrors.LimitBody(p.maxBody, h)
	return p.bareErrors.Recover(h)
}

// Static serves the pages' style sheet and scripts, with no directory
// listings: a path that names a directory is 404.
func Static() http.Handler {
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Clean("/" + r.URL.Path)[1:]
		if info, err := fs.Stat(static, name); name == "" || err != nil || info.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// csrfFailed explains a refused form submission.
func (p *Pages) csrfFailed(w http.ResponseWriter, r *http.Request, reason error) {
	if errors.Is(reason, csrf.ErrTooLarge) {
		p.errors.Error(w, r, web.TooLarge(p.maxBody)) // the body was too large to find the token in
		return
	}
	if p.meter != nil {
		p.meter.CSRFRefused(r, reason)
	}
	p.log.WarnContext(r.Context(), "csrf refused", "path", r.URL.Path, "reason", reason.Error(), "client", web.ClientAddr(r))
	p.errors.Error(w, r, web.Forbidden(
		"This form could not be accepted: it was sent from another site, or the page was too old. "+
			"Go back, reload the page and try again.", reason))
}
