// Package api is the service's JSON API under /api/. Clients authenticate
// with an API key in a header, never with the session cookie: the API type
// has no session, so no handler here can read one, and the API needs no
// CSRF check. Errors are RFC 9457 problem documents.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/input"
	"github.com/bulwarkhq/bulwark/internal/app/files"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/password/policy"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

// Options are what the API needs. Log, DB, Keys, Hasher and Limits are
// required.
type Options struct {
	Log    *slog.Logger
	DB     *store.DB
	Keys   apikey.Store
	Hasher *password.Hasher
	Policy policy.Policy
	IPs    *clientip.Resolver
	// Limits holds the rate-limit budgets, shared with the pages.
	Limits       ratelimit.Store
	DefaultLimit []ratelimit.Limit // per client address, on every API route
	KeyLimit     []ratelimit.Limit // per API key (RATELIMIT_API)
	// FailedKeyLimit bounds requests with a bad key per client address,
	// so keys cannot be guessed at the default rate.
	FailedKeyLimit  []ratelimit.Limit
	FailOpen        bool // the default limit lets requests through when Limits fails
	MaxBodyBytes    int64
	MaxSearchLength int
	// Webhook checks POST /api/webhook; nil turns the route off (404).
	Webhook WebhookVerifier
	// Files serves /api/files; nil turns those routes off (404).
	Files *files.Service
	// Meter counts refusals and server errors for the service's metrics;
	// nil counts nothing.
	Meter web.Meter
}

// API serves /api/.
type API struct {
	log     *slog.Logger
	db      *store.DB
	hasher  *password.Hasher
	policy  policy.Policy
	keys    *apikey.Authenticator
	ips     *clientip.Resolver
	webhook WebhookVerifier
	files   *files.Service
	json    *input.Decoder
	errors  web.Responder

	defaultLimit, keyLimit, failedKeyLimit *ratelimit.Limiter

	maxBody   int64
	maxSearch int
}

// New builds the API from o.
func New(o Options) (*API, error) {
	if o.Log == nil || o.DB == nil || o.Keys == nil || o.Hasher == nil || o.Limits == nil {
		return nil, errors.New("api: Log, DB, Keys, Hasher and Limits are required")
	}
	a := &API{log: o.Log, db: o.DB, hasher: o.Hasher, policy: o.Policy, ips: o.IPs, webhook: o.Webhook, files: o.Files,
		maxBody: o.MaxBodyBytes, maxSearch: o.MaxSearchLength}
	a.errors = web.Responder{Log: o.Log, Write: writeProblem, Meter: o.Meter}
	var err error
	if a.json, err = input.New(input.Options{MaxBytes: o.MaxBodyBytes}); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	a.keys, err = apikey.New(apikey.Options{Store: o.Keys, ErrorHandler: a.keyRefused, Logger: o.Log})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	byIP := ratelimit.ByIP(o.IPs)
	byKey := func(r *http.Request) (string, bool) {
		k, ok := apikey.FromContext(r.Context())
		if !ok {
			return "", false
		}
		return "key:" + k.ID, true
	}
	for _, l := range []struct {
		l        **ratelimit.Limiter
		name     string
		limits   []ratelimit.Limit
		key      ratelimit.KeyFunc
		failOpen bool
	}{
		{&a.defaultLimit, "default", o.DefaultLimit, byIP, o.FailOpen},
		{&a.keyLimit, "api", o.KeyLimit, byKey, false},
		{&a.failedKeyLimit, "api-bad-key", o.FailedKeyLimit, byIP, false},
	} {
		*l.l, err = ratelimit.New(ratelimit.Options{
			Store: o.Limits, Limits: l.limits, Name: l.name, Key: l.key, FailOpen: l.failOpen, Logger: o.Log,
			ErrorHandler: web.LimitErrors(a.errors), Observer: o.Meter,
		})
		if err != nil {
			return nil, fmt.Errorf("api: %s limit: %w", l.name, err)
		}
	}
	return a, nil
}

// route is one API route: its pattern, the scope its key needs ("" any
// key; none for the routes that take no key) and its handler.
type route struct {
	method, path string
	keyed        bool
	scope        apikey.Scope
	handle       web.HandlerFunc
}

func (a *API) routes() []route {
	return []route{
		{"GET", "/api/me", true, "", a.me},
		{"GET", "/api/users", true, apikey.UsersRead, a.searchUsers},
		{"POST", "/api/users", true, apikey.UsersWrite, a.createUser},
		{"GET", "/api/users/{id}", true, apikey.UsersRead, a.getUser},
		{"GET", "/api/webhook/events", true, "", a.webhookEvents},
		{"GET", "/api/files", true, apikey.FilesRead, a.listFiles},
		{"POST", "/api/files", true, apikey.FilesWrite, a.uploadFile},
		{"GET", "/api/files/{id}", true, apikey.FilesRead, a.downloadFile},
		{"DELETE", "/api/files/{id}", true, apikey.FilesWrite, a.deleteFile},
		{"POST", "/api/webhook", false, "", a.receiveWebhook},
		{"GET", "/api/openapi.json", false, "", serveOpenAPI},
	}
}

// Routes lists the API's routes as "METHOD /path" patterns, for the test
// that holds the OpenAPI document to them.
func (a *API) Routes() []string {
	var out []string
	for _, rt := range a.routes() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

// Handler returns the API with its middleware: panic recovery, the body cap
// and the per-address limit for every route; then, on keyed routes, the
// key check, the per-key limit and the route's scope.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		var h http.Handler = a.errors.Handle(rt.handle)
		if rt.scope != "" {
			h = a.keys.Require(rt.scope, h)
		}
		if rt.keyed {
			h = a.guardBadKeys(a.keys.Handler(a.keyLimit.Handler(h)))
		}
		mux.Handle(rt.method+" "+rt.path, h)
	}
	mux.Handle("/api/", a.errors.Handle(func(http.ResponseWriter, *http.Request) error {
		return web.NotFound("No such API endpoint.")
	}))
	var h http.Handler = web.Routed(mux) // the matched pattern, for the metrics
	h = a.defaultLimit.Handler(h)
	h = a.errors.LimitBody(a.maxBody, h)
	return a.errors.Recover(h)
}

// guardBadKeys refuses, before any key is looked at, a client address that
// has sent too many bad keys (keyRefused charges them).
func (a *API) guardBadKeys(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, _ := ratelimit.ByIP(a.ips)(r)
		d, err := a.failedKeyLimit.Allow(r.Context(), key, 0)
		switch {
		case err != nil:
			a.errors.Error(w, r, web.Unavailable("rate-limit store", err))
		case !d.Allowed:
			ratelimit.WriteHeaders(w.Header(), "api-bad-key", d)
			a.errors.Error(w, r, web.Limited(d))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// keyRefused answers a request the key check refused. A bad key is
// charged to the client's address.
func (a *API) keyRefused(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, apikey.ErrInvalid):
		key, _ := ratelimit.ByIP(a.ips)(r)
		if _, lerr := a.failedKeyLimit.Allow(r.Context(), key, 1); lerr != nil {
			a.errors.Error(w, r, web.Unavailable("rate-limit store", lerr))
			return
		}
		a.errors.Error(w, r, &web.Error{Status: http.StatusUnauthorized, Err: err,
			Msg: "The API key is not valid: it is mistyped, unknown, expired or revoked."})
	case errors.Is(err, apikey.ErrMissing):
		a.errors.Error(w, r, &web.Error{Status: http.StatusUnauthorized, Err: err,
			Msg: "Send an API key in the X-API-Key header or as Authorization: Bearer."})
	case errors.Is(err, apikey.ErrForbidden):
		a.errors.Error(w, r, web.Forbidden("This API key does not have the scope this request needs.", err))
	default:
		a.errors.Error(w, r, web.Unavailable("API key store", err))
	}
}

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string           `json:"type"`
	Title  string           `json:"title"`
	Status int              `json:"status"`
	Detail string           `json:"detail,omitempty"`
	Errors []web.FieldError `json:"errors,omitempty"`
}

// writeProblem is the API's responder.
func writeProblem(w http.ResponseWriter, r *http.Request, e *web.Error) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(problem{
		Type: "about:blank", Title: http.StatusText(e.Status), Status: e.Status, Detail: e.Msg, Errors: e.Fields,
	})
}

// decode reads a strict JSON body into dst and validates it; errors are
// *input.Error, which the responder turns into problem documents.
func (a *API) decode(r *http.Request, dst any) error {
	return a.json.DecodeJSON(r, dst)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // the client may have gone; the status is already sent
	return nil
}
