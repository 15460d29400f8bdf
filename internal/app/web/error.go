// Package web is what the service's handler groups share: the error a
// handler returns and the one place that writes it, the generic middleware
// (request ids, access log, panic recovery, body cap), the rules for
// fields that people type, and the security-event recorder.
//
// A handler group (pages, api) gives a Responder its own way of writing an
// *Error — an HTML page or an RFC 9457 problem document — and every handler,
// middleware hook and panic of that group goes through it. Nothing here
// looks at the request path to decide how to answer.
package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bulwarkhq/bulwark/input"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

// Error is an HTTP error a handler returns. Msg is shown to the user and
// says what to do; Err is the cause, for the log only.
type Error struct {
	Status     int
	Msg        string
	Err        error
	RetryAfter time.Duration // > 0: the response carries Retry-After
	Fields     []FieldError  // per-field problems of a form or JSON body
	// Backend names what was down or busy for a 503 made by Unavailable
	// ("session store") or Busy ("password hasher"), for metrics.
	Backend string
}

// FieldError is one invalid input field: the field's name as the client
// sent it (form field or JSON member) and what is wrong, for the user.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Detail }

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, http.StatusText(e.Status), e.Err)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// SetHeaders writes the headers that belong to the error: Retry-After in
// whole seconds (the limiter's rounding rule), and Connection: close for a
// body too large to drain.
func (e *Error) SetHeaders(h http.Header) {
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(e.RetryAfter)))
	}
	if e.Status == http.StatusRequestEntityTooLarge {
		h.Set("Connection", "close")
	}
}

// AsError returns err as an *Error: itself when it is (or wraps) one, a 413
// when it comes from the body cap, a 400 for a *FieldError, the status of
// an *input.Error (400, 413, 415) with its fields, and otherwise a 500 that
// logs err.
func AsError(err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return TooLarge(mbe.Limit)
	}
	if fe, ok := errors.AsType[*FieldError](err); ok {
		return Invalid(*fe)
	}
	if ie, ok := errors.AsType[*input.Error](err); ok {
		e := &Error{Status: ie.Status, Msg: ie.Detail, Err: ie.Err}
		for _, f := range ie.Fields {
			e.Fields = append(e.Fields, FieldError{Field: f.Field, Detail: f.Detail})
		}
		return e
	}
	if unreachable(err) {
		return Unavailable("backend", err) // a fault of the moment, not a bug: 503
	}
	return Internal(err)
}

// BadRequest is a 400 with a message for the user.
func BadRequest(msg string) *Error { return &Error{Status: http.StatusBadRequest, Msg: msg} }

// Invalid is a 400 listing the fields that are wrong.
func Invalid(fields ...FieldError) *Error {
	msg := "Some fields are not valid."
	if len(fields) == 1 {
		msg = fields[0].Detail
	}
	return &Error{Status: http.StatusBadRequest, Msg: msg, Fields: fields}
}

// Unauthorized is a 401.
func Unauthorized(msg string) *Error { return &Error{Status: http.StatusUnauthorized, Msg: msg} }

// Forbidden is a 403; err says why, for the log.
func Forbidden(msg string, err error) *Error {
	return &Error{Status: http.StatusForbidden, Msg: msg, Err: err}
}

// NotFound is a 404. Objects of other users are "not found" too, never 403.
func NotFound(msg string) *Error { return &Error{Status: http.StatusNotFound, Msg: msg} }

// TooLarge is a 413 naming the cap.
func TooLarge(max int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge,
		Msg: fmt.Sprintf("The request is larger than this server accepts (%d bytes).", max)}
}

// Limited is a 429 for a refused rate-limit decision.
func Limited(d ratelimit.Decision) *Error {
	wait := ratelimit.RetryAfterSeconds(d.RetryAfter)
	return &Error{Status: http.StatusTooManyRequests, RetryAfter: d.RetryAfter,
		Msg: fmt.Sprintf("Too many requests. Please wait %d seconds and try again.", wait)}
}

// LimitErrors adapts a responder to ratelimit's error hook: a refused
// request is a 429 (Limited), a store failure a 503 (Unavailable).
func LimitErrors(rs Responder) func(w http.ResponseWriter, r *http.Request, err error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if le, ok := errors.AsType[*ratelimit.LimitedError](err); ok {
			rs.Error(w, r, Limited(le.Decision))
			return
		}
		rs.Error(w, r, Unavailable("rate-limit store", err))
	}
}

// busyRetry is how long a client should wait when the password hashers are
// all busy: about twenty hashes' time.
const busyRetry = 2 * time.Second

// Busy is a 503 for work the server sheds under load (password hashing).
func Busy(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, RetryAfter: busyRetry, Err: err, Backend: "password hasher",
		Msg: "The server is busy. Please try again in a few seconds."}
}

// unavailableRetry is the wait suggested when a backend cannot be reached.
const unavailableRetry = 5 * time.Second

// Unavailable is a 503 for a security check that cannot run because a
// backend (session or limit store, database) is down: fail closed.
func Unavailable(what string, err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, RetryAfter: unavailableRetry, Backend: what,
		Err: fmt.Errorf("%s unavailable: %w", what, err),
		Msg: "A service this request needs is briefly unavailable. Please try again in a few seconds."}
}

// Internal is a 500 that logs err and shows nothing of it.
func Internal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Err: err,
		Msg: "Something went wrong on our side. It has been logged; please try again."}
}
