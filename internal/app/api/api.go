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

	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

// Options are what the API needs. All are required.
type Options struct {
	Log          *slog.Logger
	DB           *store.DB
	IPs          *clientip.Resolver
	Limits       ratelimit.Store   // shared with the pages: one "default" budget per client
	DefaultLimit []ratelimit.Limit // per client address
	FailOpen     bool
	MaxBodyBytes int64
}

// API serves /api/.
type API struct {
	db           *store.DB
	errors       web.Responder
	defaultLimit *ratelimit.Limiter
	maxBody      int64
}

// New builds the API from o.
func New(o Options) (*API, error) {
	if o.Log == nil || o.DB == nil || o.Limits == nil {
		return nil, errors.New("api: Log, DB and Limits are required")
	}
	a := &API{db: o.DB, maxBody: o.MaxBodyBytes}
	a.errors = web.Responder{Log: o.Log, Write: writeProblem}
	var err error
	a.defaultLimit, err = ratelimit.New(ratelimit.Options{
		Store: o.Limits, Limits: o.DefaultLimit, Name: "default", Key: ratelimit.ByIP(o.IPs),
		FailOpen: o.FailOpen, Logger: o.Log, ErrorHandler: web.LimitErrors(a.errors),
	})
	if err != nil {
		return nil, fmt.Errorf("api: default limit: %w", err)
	}
	return a, nil
}

// Handler returns the API with its middleware: panic recovery, the body cap
// and the default rate limit.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", a.errors.Handle(func(http.ResponseWriter, *http.Request) error {
		return web.NotFound("No such API endpoint.")
	}))
	var h http.Handler = mux
	h = a.defaultLimit.Handler(h)
	h = a.errors.LimitBody(a.maxBody, h)
	return a.errors.Recover(h)
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
	json.NewEncoder(w).Encode(problem{
		Type: "about:blank", Title: http.StatusText(e.Status), Status: e.Status, Detail: e.Msg, Errors: e.Fields,
	})
}
