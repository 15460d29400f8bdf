package web

import (
	"net/http"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

// Meter counts what the handler groups see, for the service's metrics.
// internal/app implements it with Prometheus; the groups only call it, so
// none of them imports a metrics library. Its methods run on the request
// path: they must be fast and safe for concurrent use, and they are given
// only values from small fixed sets (a limit's name, an event kind, a
// route pattern) to label by — never an address, an email or a key.
type Meter interface {
	// Refused and StoreFailed hear the group's rate limiters.
	ratelimit.Observer
	// Event counts a security event (Events.Record).
	Event(r *http.Request, kind store.EventKind)
	// ServerError counts a request answered with a 5xx (Responder.Error).
	ServerError(r *http.Request, e *Error)
	// CSRFRefused counts a request the CSRF check refused; reason wraps
	// one of package csrf's errors.
	CSRFRefused(r *http.Request, reason error)
}

// RouteRecorder is implemented by a ResponseWriter that wants to learn
// which route pattern served its request: the metrics' request counter,
// which must label by pattern ("GET /files/{id}"), never by path.
type RouteRecorder interface {
	// RecordRoute is given the pattern a ServeMux matched, or "" when
	// none did. A recorder keeps the first non-empty pattern it hears.
	RecordRoute(pattern string)
}

// Routed serves the request with mux and then tells the RouteRecorder
// among w and the writers it wraps which of mux's patterns matched. A
// ServeMux sets the pattern on the request it was given, which the
// middleware outside it never sees (each layer that adds to the context
// passes on a copy), so it is handed back through the writer instead. With
// muxes nested inside one another, the innermost reports first and wins.
func Routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		RecordRoute(w, r.Pattern)
	})
}

// RecordRoute tells the first RouteRecorder found by unwrapping w (as
// http.ResponseController does) the route pattern; without one it does
// nothing.
func RecordRoute(w http.ResponseWriter, pattern string) {
	if pattern == "" {
		return
	}
	for {
		switch t := w.(type) {
		case RouteRecorder:
			t.RecordRoute(pattern)
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return
		}
	}
}
