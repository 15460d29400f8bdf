package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/headers"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

// testResponder writes "status: message" and keeps the log.
func testResponder(log *strings.Builder) Responder {
	return Responder{
		Log: slog.New(slog.NewTextHandler(log, nil)),
		Write: func(w http.ResponseWriter, r *http.Request, e *Error) {
			w.WriteHeader(e.Status)
			fmt.Fprintf(w, "%d: %s", e.Status, e.Msg)
		},
	}
}

// A panic is a 500 that shows nothing of it, keeps the security headers
// and logs the panic. Remove Recover's recover() to see it fail.
func TestPanicGives500WithoutInternals(t *testing.T) {
	var log strings.Builder
	rs := testResponder(&log)
	h := headers.MustNew(headers.Policy{}).Handler(rs.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret internal detail")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "secret internal detail") {
		t.Fatalf("panic answered %d %q", rec.Code, rec.Body.String())
	}
	if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Fatal("the 500 lacks the security headers")
	}
	if !strings.Contains(log.String(), "secret internal detail") {
		t.Fatal("the panic was not logged")
	}
}

// Every kind of error reaches the client with its status, its message and
// Retry-After from one rounding rule; causes stay in the log.
func TestErrorPath(t *testing.T) {
	cases := []struct {
		err        error
		status     int
		retryAfter string
	}{
		{BadRequest("Fix the form."), 400, ""},
		{&FieldError{"email", "Enter an email."}, 400, ""},
		{&http.MaxBytesError{Limit: 10}, 413, ""},
		{Limited(ratelimit.Decision{RetryAfter: 1500 * time.Millisecond}), 429, "2"},
		{Busy(errors.New("hashers busy")), 503, "2"},
		{Unavailable("session store", errors.New("dial tcp: refused")), 503, "5"},
		{fmt.Errorf("query: %w", errors.New("secret cause")), 500, ""},
	}
	for _, c := range cases {
		var log strings.Builder
		rs := testResponder(&log)
		rec := httptest.NewRecorder()
		rs.Handle(func(http.ResponseWriter, *http.Request) error { return c.err }).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != c.status || rec.Header().Get("Retry-After") != c.retryAfter {
			t.Errorf("%v: %d Retry-After %q, want %d %q", c.err, rec.Code, rec.Header().Get("Retry-After"), c.status, c.retryAfter)
		}
		if strings.Contains(rec.Body.String(), "secret cause") || strings.Contains(rec.Body.String(), "refused") {
			t.Errorf("%v: cause shown to the client: %q", c.err, rec.Body.String())
		}
		if c.status >= 500 && !strings.Contains(log.String(), "request failed") {
			t.Errorf("%v: server error not logged", c.err)
		}
	}
}

func ExampleResponder() {
	rs := Responder{
		Log: slog.New(slog.DiscardHandler),
		Write: func(w http.ResponseWriter, r *http.Request, e *Error) {
			http.Error(w, e.Msg, e.Status)
		},
	}
	h := rs.Handle(func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Query().Get("q") == "" {
			return BadRequest("Enter something to search for.")
		}
		return nil
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/search", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output: 400 Enter something to search for.
}
