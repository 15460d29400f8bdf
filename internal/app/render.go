package app

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/headers"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageNames are the templates that render a whole page with the layout.
var pageNames = []string{"home", "register", "login", "account", "search", "error"}

// formPages are the pages with a POST form, which need a CSRF token even for
// a visitor who is not signed in.
var formPages = map[string]bool{"register": true, "login": true, "account": true}

// parsePages parses each page together with the layout, once.
func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every page template sees.
type page struct {
	Title     string
	User      *store.User
	CSRFField template.HTML
	CSRFToken string
	Nonce     string
	Flash     string
	Data      any
}

// render executes a page into a buffer before writing anything, so a
// template error becomes a clean 500 and the session (with its CSRF secret)
// is saved before the response starts.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Nonce = headers.Nonce(r.Context())
	if p.User == nil && inSession(r) {
		p.User = a.sessionUser(r)
	}
	if inSession(r) && (p.User != nil || formPages[name]) {
		// Only pages with a form issue a token: a visitor who just reads
		// the home page or a 404 gets no session row.
		p.CSRFToken = csrf.Token(r)
		p.CSRFField = csrf.TemplateField(r)
	}
	if p.Flash == "" && inSession(r) {
		p.Flash = a.takeFlash(r)
	}
	var buf bytes.Buffer
	t, ok := a.pages[name]
	if !ok {
		panic("app: no page template " + name) // a programming error, caught in tests
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		a.logger(r).Error("render page", "page", name, "error", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage answers with a page that says what happened. It works anywhere in
// the handler chain: outside the session it simply shows no user.
func (a *App) errorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		a.problem(w, r, status, message)
		return
	}
	a.render(w, r, status, "error", page{Title: http.StatusText(status), Data: map[string]string{"Message": message}})
}

// problem writes an RFC 9457 problem document (used under /api/).
func (a *App) problem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type":   "about:blank",
		"title":  http.StatusText(status),
		"status": status,
		"detail": detail,
	})
}

func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.errorPage(w, r, http.StatusNotFound, "There is no page at this address.")
}

func (a *App) apiNotFound(w http.ResponseWriter, r *http.Request) {
	a.problem(w, r, http.StatusNotFound, "No such API endpoint.")
}

// csrfFailed explains a refused form submission.
func (a *App) csrfFailed(w http.ResponseWriter, r *http.Request) {
	if errors.Is(csrf.Reason(r), csrf.ErrTooLarge) {
		a.tooLarge(w, r) // the body was too large to find the token in
		return
	}
	a.logger(r).Warn("csrf refused", "path", r.URL.Path, "reason", fmt.Sprint(csrf.Reason(r)),
		"client", clientAddr(r))
	a.errorPage(w, r, http.StatusForbidden,
		"This form could not be accepted: it was sent from another site, or the page was too old. "+
			"Go back, reload the page and try again.")
}

// limited answers a request over its rate limit.
func (a *App) limited(w http.ResponseWriter, r *http.Request, d ratelimit.Decision) {
	wait := int((d.RetryAfter + time.Second - 1) / time.Second)
	if wait < 1 {
		wait = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(wait))
	a.errorPage(w, r, http.StatusTooManyRequests,
		fmt.Sprintf("Too many requests. Please wait %d seconds and try again.", wait))
}

// limitUnavailable answers when the rate-limit store cannot be reached.
func (a *App) limitUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.unavailable(w, r, "rate-limit store", err)
}

// unavailable answers 503 when a security check cannot run: fail closed.
func (a *App) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	a.logger(r).Error("dependency unavailable", "what", what, "error", err)
	w.Header().Set("Retry-After", "5")
	if strings.HasPrefix(r.URL.Path, "/api/") {
		a.problem(w, r, http.StatusServiceUnavailable, "A service this request needs is unavailable. Try again shortly.")
		return
	}
	// No session here: the session store may be what failed.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintln(w, "This service is briefly unavailable. Please try again in a few seconds.")
}
