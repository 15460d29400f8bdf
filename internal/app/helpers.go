package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
)

type sessionKey struct{}

// markSession notes that the request went through the session and CSRF
// middleware, so pages may use the session, the CSRF token and the flash.
func markSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, true)))
	})
}

func inSession(r *http.Request) bool {
	v, _ := r.Context().Value(sessionKey{}).(bool)
	return v
}

const flashKey = "flash"

// flash keeps a one-time message for the next page this browser sees.
func (a *App) flash(r *http.Request, msg string) {
	a.sessions.SetBytes(r.Context(), flashKey, []byte(msg))
}

func (a *App) takeFlash(r *http.Request) string {
	b := a.sessions.Bytes(r.Context(), flashKey)
	if len(b) == 0 {
		return ""
	}
	a.sessions.SetBytes(r.Context(), flashKey, nil)
	return string(b)
}

// event records a security event in the database and the log.
func (a *App) event(r *http.Request, userID int64, kind, detail string) {
	ip := clientAddr(r)
	a.logger(r).Info("security event", "event", kind, "user_id", userID, "client", ip)
	err := a.db.RecordEvent(r.Context(), store.Event{
		UserID: userID, Kind: kind, IP: ip, UserAgent: truncate(r.UserAgent(), 256), Detail: detail,
	})
	if err != nil {
		a.logger(r).Error("record security event", "event", kind, "error", err)
	}
}

func (a *App) badForm(w http.ResponseWriter, r *http.Request, err error) {
	if isTooLarge(err) {
		a.tooLarge(w, r)
		return
	}
	a.errorPage(w, r, http.StatusBadRequest, "The form could not be read. Reload the page and try again.")
}

func (a *App) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	a.logger(r).Error(what, "error", err)
	a.errorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side. It has been logged; please try again.")
}

// hashFailed answers a password hashing error: too many at once is a 503 with
// Retry-After (the bound that keeps a login flood from exhausting memory).
func (a *App) hashFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, password.ErrBusy):
		w.Header().Set("Retry-After", "2")
		a.errorPage(w, r, http.StatusServiceUnavailable, "The server is busy. Please try again in a few seconds.")
	case isTooLongPassword(err):
		a.errorPage(w, r, http.StatusBadRequest, "That password is too long.")
	default:
		a.serverError(w, r, "password hash", err)
	}
}

func isTooLongPassword(err error) bool { return errors.Is(err, password.ErrTooLong) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok")
}

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.Ready(r.Context()); err != nil {
		a.logger(r).Warn("not ready", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "unavailable")
		return
	}
	io.WriteString(w, "ok")
}

// maxCSPReport bounds a violation report; real ones are a few hundred bytes.
const maxCSPReport = 16 << 10

// cspReport logs Content-Security-Policy violation reports from browsers,
// both the report-uri form and the Reporting API form.
func (a *App) cspReport(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCSPReport+1))
	if err != nil || len(body) > maxCSPReport {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	for _, rep := range parseCSPReports(body) {
		a.logger(r).Warn("csp violation",
			"document", rep.Document, "blocked", rep.Blocked, "directive", rep.Directive,
			"client", clientAddr(r))
	}
	w.WriteHeader(http.StatusNoContent)
}

type cspViolation struct{ Document, Blocked, Directive string }

// parseCSPReports reads {"csp-report": {...}} or a Reporting API array of
// {"type": "csp-violation", "body": {...}}. Unknown shapes yield nothing.
func parseCSPReports(body []byte) []cspViolation {
	clean := func(s string) string {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			s = s[:i] // queries can carry tokens
		}
		return truncate(s, 512)
	}
	var legacy struct {
		Report *struct {
			Document  string `json:"document-uri"`
			Blocked   string `json:"blocked-uri"`
			Directive string `json:"violated-directive"`
			Effective string `json:"effective-directive"`
		} `json:"csp-report"`
	}
	if json.Unmarshal(body, &legacy) == nil && legacy.Report != nil {
		d := legacy.Report.Effective
		if d == "" {
			d = legacy.Report.Directive
		}
		return []cspViolation{{clean(legacy.Report.Document), clean(legacy.Report.Blocked), truncate(d, 128)}}
	}
	var modern []struct {
		Type string `json:"type"`
		Body struct {
			Document  string `json:"documentURL"`
			Blocked   string `json:"blockedURL"`
			Directive string `json:"effectiveDirective"`
		} `json:"body"`
	}
	if json.Unmarshal(body, &modern) != nil {
		return nil
	}
	var out []cspViolation
	for i, m := range modern {
		if i == 20 {
			break
		}
		if m.Type == "csp-violation" {
			out = append(out, cspViolation{clean(m.Body.Document), clean(m.Body.Blocked), truncate(m.Body.Directive, 128)})
		}
	}
	return out
}

// clientAddr is the request's client address as clientip.Middleware found it.
func clientAddr(r *http.Request) string {
	if a, ok := clientip.FromContext(r.Context()); ok {
		return a.String()
	}
	return ""
}
