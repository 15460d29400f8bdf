package pages

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/headers"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// templateNames are the templates that render a whole page with the layout.
var templateNames = []string{"home", "register", "login", "account", "search", "error",
	"notice", "forgot", "reset", // recovery.go
}

// formPages are the pages with a POST form, which need a CSRF token even for
// a visitor who is not signed in.
var formPages = map[string]bool{"register": true, "login": true, "account": true,
	"forgot": true, "reset": true, // recovery.go
}

// templateFuncs are the helpers templates may call.
var templateFuncs = template.FuncMap{
	"mib": func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) },
}

// parseTemplates parses each page together with the layout, once.
func parseTemplates() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(templateNames))
	for _, name := range templateNames {
		t, err := template.New("layout").Funcs(templateFuncs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("pages: parse template %s: %w", name, err)
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

// render executes a page inside the session: it shows the signed-in user,
// takes the flash, and issues a CSRF token to pages with a form.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, pg page) error {
	if pg.User == nil {
		pg.User = p.sessionUser(r)
	}
	if pg.User != nil || formPages[name] {
		// Only pages with a form issue a token: a visitor who just reads
		// the home page or a 404 gets no session row.
		pg.CSRFToken = csrf.Token(r)
		pg.CSRFField = csrf.TemplateField(r)
	}
	if pg.Flash == "" && pg.User != nil {
		pg.Flash = string(p.flashes.Pop(r.Context()))
	}
	return p.write(w, r, status, name, pg)
}

// write executes a page into a buffer before writing anything, so a
// template error becomes a clean 500 and the session (with its CSRF secret)
// is saved before the response starts.
func (p *Pages) write(w http.ResponseWriter, r *http.Request, status int, name string, pg page) error {
	pg.Nonce = headers.Nonce(r.Context())
	t, ok := p.templates[name]
	if !ok {
		return web.Internal(fmt.Errorf("no page template %q", name))
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pg); err != nil {
		return web.Internal(fmt.Errorf("render page %s: %w", name, err))
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // the client may have gone; the status is already sent
	return nil
}

// writeError is the pages' responder: an error page inside the session.
func (p *Pages) writeError(w http.ResponseWriter, r *http.Request, e *web.Error) {
	if e.Status == http.StatusServiceUnavailable {
		// The session store may be what failed: do not touch it.
		p.writeBareError(w, r, e)
		return
	}
	if err := p.render(w, r, e.Status, "error", errorPage(e)); err != nil {
		p.plainError(w, r, err)
	}
}

// writeBareError renders an error page without the session, for the
// middleware that runs before it is loaded and for a session store that
// is down.
func (p *Pages) writeBareError(w http.ResponseWriter, r *http.Request, e *web.Error) {
	if err := p.write(w, r, e.Status, "error", errorPage(e)); err != nil {
		p.plainError(w, r, err)
	}
}

func errorPage(e *web.Error) page {
	return page{Title: http.StatusText(e.Status), Data: map[string]string{"Message": e.Msg}}
}

func (p *Pages) plainError(w http.ResponseWriter, r *http.Request, err error) {
	p.log.ErrorContext(r.Context(), "render error page", "error", err)
	http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
}
