package web

import (
	"log/slog"
	"net/http"
)

// HandlerFunc is a handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Responder is one handler group's error path: Write renders an *Error in
// the group's format (HTML page, problem+json); Log receives the cause.
type Responder struct {
	Log   *slog.Logger
	Write func(w http.ResponseWriter, r *http.Request, e *Error)
	// Meter, when set, counts the server errors (5xx) written.
	Meter Meter
}

// Handle adapts f to http.Handler: an error f returns goes to Error.
func (rs Responder) Handle(f HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			rs.Error(w, r, err)
		}
	})
}

// Error logs err (server errors at level Error with their cause, the rest
// at Debug) and writes it with its headers. It is also the shape of every
// middleware error hook: func(w, r, err).
func (rs Responder) Error(w http.ResponseWriter, r *http.Request, err error) {
	e := AsError(err)
	if e.Status >= 500 && rs.Meter != nil {
		rs.Meter.ServerError(r, e)
	}
	switch {
	case e.Status >= 500:
		rs.Log.ErrorContext(r.Context(), "request failed", "status", e.Status, "error", errString(e.Err))
	case e.Err != nil:
		rs.Log.DebugContext(r.Context(), "request refused", "status", e.Status, "error", e.Err.Error())
	}
	e.SetHeaders(w.Header())
	rs.Write(w, r, e)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
