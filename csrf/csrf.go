package csrf

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"path"
	"strings"
)

// Why a request was refused, as returned by Reason inside the ErrorHandler.
var (
	// ErrCrossOrigin: the browser said the request came from another site
	// (Sec-Fetch-Site), or its Origin does not match the Host.
	ErrCrossOrigin = errors.New("csrf: cross-origin request refused")

	// ErrNoToken: neither the header nor the form field holds a token.
	ErrNoToken = errors.New("csrf: token missing")

	// ErrBadToken: the token is malformed, belongs to another session or to
	// an earlier secret (rotated at login, gone at logout), or the session
	// has no secret at all.
	ErrBadToken = errors.New("csrf: token invalid or expired")

	// ErrTooLarge: the form could not be read for its token because the
	// body is over the cap the application set with http.MaxBytesReader.
	// The default ErrorHandler answers 413, not 403, for it.
	ErrTooLarge = errors.New("csrf: request body too large")
)

// Store keeps the per-session CSRF secret. The application backs it with
// its session (for example scs's Get and Put of a []byte); Put must make
// the session save. Get returns nil when the session has no secret.
type Store interface {
	Get(ctx context.Context) []byte
	Put(ctx context.Context, secret []byte)
}

// Options configures a Protection. Only Store is required.
type Options struct {
	// Store holds the session's secret.
	Store Store

	// FieldName is the form field carrying the token. Default "csrf_token".
	FieldName string

	// HeaderNames are the request headers that may carry the token, for
	// fetch and XMLHttpRequest. Default X-CSRFToken (Flask-WTF's) and
	// X-CSRF-Token. A header, when present, is used instead of the form.
	HeaderNames []string

	// ExemptPrefixes are paths left unchecked, read like ServeMux
	// patterns: one ending in "/" covers that subtree ("/api/" covers
	// "/api/users", not "/apix" nor "/api"), any other covers that exact
	// path ("/csp-report", where browsers post reports without a token).
	// They are matched against the cleaned path, so "/api/../login" is
	// checked. Only for endpoints that never authenticate by cookie, such
	// as an API keyed by header; keep the list short and narrow.
	ExemptPrefixes []string

	// TrustedOrigins are other origins ("https://app.example.com", scheme
	// and host and port if any, compared exactly) whose cross-origin
	// requests pass the origin check. They still need a valid token.
	TrustedOrigins []string

	// ErrorHandler answers refused requests; Reason(r) says why. It should
	// respond 403 Forbidden (413 for ErrTooLarge). Default: a short text
	// response with that status.
	ErrorHandler http.Handler
}

// Protection is the CSRF middleware built by New. It is safe for
// concurrent use.
type Protection struct {
	store        Store
	fieldName    string
	headerNames  []string // canonical form
	exempt       []string // clean paths; a trailing "/" means the subtree
	origins      *http.CrossOriginProtection
	errorHandler http.Handler
}

// New checks o and returns the middleware it describes.
func New(o Options) (*Protection, error) {
	if o.Store == nil {
		return nil, errors.New("csrf: Options.Store is required")
	}
	p := &Protection{
		store:        o.Store,
		fieldName:    o.FieldName,
		origins:      http.NewCrossOriginProtection(),
		errorHandler: o.ErrorHandler,
	}
	if p.fieldName == "" {
		p.fieldName = "csrf_token"
	}
	if p.errorHandler == nil {
		p.errorHandler = http.HandlerFunc(defaultErrorHandler)
	}
	names := o.HeaderNames
	if names == nil {
		names = []string{"X-CSRFToken", "X-CSRF-Token"}
	}
	for _, name := range names {
		if !validHeaderName(name) {
			return nil, fmt.Errorf("csrf: invalid header name %q", name)
		}
		p.headerNames = append(p.headerNames, textproto.CanonicalMIMEHeaderKey(name))
	}
	for _, prefix := range o.ExemptPrefixes {
		if !strings.HasPrefix(prefix, "/") || cleanPath(prefix) != prefix || prefix == "/" {
			return nil, fmt.Errorf("csrf: exempt path %q must be a clean absolute path other than /", prefix)
		}
		p.exempt = append(p.exempt, prefix)
	}
	for _, origin := range o.TrustedOrigins {
		if err := p.origins.AddTrustedOrigin(origin); err != nil {
			return nil, fmt.Errorf("csrf: trusted origin: %w", err)
		}
	}
	return p, nil
}

// stateKey is the context key of the request's *state.
type stateKey struct{}

// state is what Handler leaves in the request context for Token, Rotate
// and Reason.
type state struct {
	p      *Protection
	reason error
}

func stateOf(r *http.Request) *state {
	st, _ := r.Context().Value(stateKey{}).(*state)
	return st
}

// Handler returns a handler that checks unsafe requests before passing
// them to next, and lets Token, TemplateField and Rotate work inside next.
func (p *Protection) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{p: p}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		if isSafeMethod(r.Method) || p.isExempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		if err := p.check(r); err != nil {
			st.reason = err
			p.errorHandler.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Reason tells an ErrorHandler why r was refused: an error matching
// ErrCrossOrigin, ErrNoToken, ErrBadToken or ErrTooLarge (use errors.Is).
// It is nil for a request that was not refused.
func Reason(r *http.Request) error {
	if st := stateOf(r); st != nil {
		return st.reason
	}
	return nil
}

// check runs both layers on an unsafe request.
func (p *Protection) check(r *http.Request) error {
	if err := p.origins.Check(r); err != nil {
		return fmt.Errorf("%w: %w", ErrCrossOrigin, err)
	}
	token, err := p.requestToken(r)
	if err != nil {
		return err
	}
	if token == "" {
		return ErrNoToken
	}
	// A session without a secret never accepts a token: creating one here
	// would let a request mint the secret it is checked against.
	secret := p.store.Get(r.Context())
	if !verify(secret, token) {
		return ErrBadToken
	}
	return nil
}

// multipartMemory is how much of a multipart body is held in memory while
// looking for the token field; the rest (file parts) goes to temporary
// files, which net/http removes after the request. It equals net/http's
// default, so a later r.FormFile finds the form parsed and does not
// parse it again.
const multipartMemory = 32 << 20

// requestToken returns the token from the first configured header present,
// or else from the form body. The URL query is never read: a token there
// would leak through logs and Referer.
func (p *Protection) requestToken(r *http.Request) (string, error) {
	for _, name := range p.headerNames {
		if v := r.Header[name]; len(v) > 0 && v[0] != "" {
			return v[0], nil
		}
	}
	var err error
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		err = r.ParseMultipartForm(multipartMemory)
	} else {
		err = r.ParseForm() // reads the body only for urlencoded forms
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return "", ErrTooLarge
	}
	// Other parse errors (a malformed body or query) leave PostForm without
	// the field, and the request is refused as having no token.
	return r.PostForm.Get(p.fieldName), nil
}

// isSafeMethod reports the methods that must not change state and are
// never checked, as in Flask-WTF.
func isSafeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// isExempt reports whether r's path is exempt. Both the
// decoded and the escaped path must be, so an encoded "/" or "." cannot
// make the two disagree about where the request goes.
func (p *Protection) isExempt(r *http.Request) bool {
	if len(p.exempt) == 0 {
		return false
	}
	return p.underExempt(cleanPath(r.URL.Path)) && p.underExempt(cleanPath(r.URL.EscapedPath()))
}

func (p *Protection) underExempt(clean string) bool {
	for _, e := range p.exempt {
		if clean == e || strings.HasSuffix(e, "/") && strings.HasPrefix(clean, e) {
			return true
		}
	}
	return false
}

// cleanPath is path.Clean for a URL path, keeping a trailing slash as
// net/http's ServeMux does.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// validHeaderName reports whether name is an HTTP field name (RFC 9110 token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// defaultErrorHandler answers a refused request with 403 (413 when the body
// was too large) and a message that tells the user what to do.
func defaultErrorHandler(w http.ResponseWriter, r *http.Request) {
	switch err := Reason(r); {
	case errors.Is(err, ErrTooLarge):
		http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
	case errors.Is(err, ErrCrossOrigin):
		http.Error(w, "Forbidden: this request came from another site.", http.StatusForbidden)
	default:
		http.Error(w, "Forbidden: the form has expired or is missing its security token. "+
			"Reload the page and try again.", http.StatusForbidden)
	}
}
