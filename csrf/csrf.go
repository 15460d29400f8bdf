package csrf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path"
	"strings"
)

// Why a request was refused: the error given to Options.ErrorHandler wraps
// one of these (test with errors.Is).
var (
	// ErrCrossOrigin: the browser said the request came from another site
	// (Sec-Fetch-Site), or its Origin does not match the Host.
	ErrCrossOrigin = errors.New("csrf: cross-origin request refused")

	// ErrNoToken: neither the header nor the form field holds a token.
	ErrNoToken = errors.New("csrf: token missing")

	// ErrBadToken: the token is malformed, belongs to another session or
	// browser or to an earlier secret (rotated at login, gone at logout), or
	// the request has no secret at all (no session secret, or no validly
	// signed cookie).
	ErrBadToken = errors.New("csrf: token invalid or expired")

	// ErrTooLarge: the form could not be read for its token because the
	// body is over the cap the application set with http.MaxBytesReader.
	// The default ErrorHandler answers 413, not 403, for it.
	ErrTooLarge = errors.New("csrf: request body too large")
)

// Store keeps the per-session CSRF secret. The application backs it with
// its session; a *session.Value of this module fits as it is. Put must make
// the session save. Get returns nil when the session has no secret.
type Store interface {
	Get(ctx context.Context) []byte
	Put(ctx context.Context, secret []byte)
}

// Options configures a Protection. Store or CookieKeys is required; see the
// package documentation for when to use which.
type Options struct {
	// Store holds the session's secret, for requests that have a session.
	Store Store

	// CookieKeys sign the secret kept in the browser's CSRF cookie, for
	// requests that must not create server state (signed double-submit
	// cookie). The first key signs; every key verifies, so an old key can
	// stay listed while it is rotated out. Each must be at least 32 bytes.
	CookieKeys [][]byte

	// UseCookie chooses, per request, the cookie secret (true) or the
	// Store's (false); it is consulted whenever a token is issued, checked
	// or rotated, so a request that signs in switches over at once. Typical:
	// anonymous requests use the cookie, signed-in ones the session.
	// Required when both Store and CookieKeys are set; without a Store
	// every request uses the cookie.
	UseCookie func(r *http.Request) bool

	// Secure marks the CSRF cookie Secure and names it "__Host-csrf"
	// (otherwise "bulwark_csrf"), so that neither plain HTTP nor a sibling
	// domain can set it. Set it whenever the site is served over HTTPS.
	Secure bool

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

	// ErrorHandler answers refused requests. err says why: it wraps
	// ErrCrossOrigin, ErrNoToken, ErrBadToken or ErrTooLarge. It should
	// respond 403 Forbidden (413 for ErrTooLarge). Default: a short text
	// response with that status.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Protection is the CSRF middleware built by New. It is safe for
// concurrent use.
type Protection struct {
	store        Store
	keys         [][]byte // CookieKeys: keys[0] signs
	useCookie    func(r *http.Request) bool
	cookieName   string
	secure       bool
	fieldName    string
	headerNames  []string // canonical form
	exempt       []string // clean paths; a trailing "/" means the subtree
	origins      *http.CrossOriginProtection
	errorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// minKeyLen is the shortest cookie key accepted: 256 bits, the HMAC's size.
const minKeyLen = 32

// New checks o and returns the middleware it describes.
func New(o Options) (*Protection, error) {
	switch {
	case o.Store == nil && len(o.CookieKeys) == 0:
		return nil, errors.New("csrf: Options.Store or Options.CookieKeys is required")
	case o.UseCookie != nil && len(o.CookieKeys) == 0:
		return nil, errors.New("csrf: Options.UseCookie needs Options.CookieKeys")
	case o.Store != nil && len(o.CookieKeys) > 0 && o.UseCookie == nil:
		// Otherwise one of the two would silently never be used.
		return nil, errors.New("csrf: with both Store and CookieKeys, Options.UseCookie must choose per request")
	}
	p := &Protection{
		store:        o.Store,
		useCookie:    o.UseCookie,
		secure:       o.Secure,
		cookieName:   "bulwark_csrf",
		fieldName:    o.FieldName,
		origins:      http.NewCrossOriginProtection(),
		errorHandler: o.ErrorHandler,
	}
	if o.Secure {
		p.cookieName = "__Host-csrf"
	}
	for i, k := range o.CookieKeys {
		if len(k) < minKeyLen {
			return nil, fmt.Errorf("csrf: CookieKeys[%d] has %d bytes, want at least %d", i, len(k), minKeyLen)
		}
		p.keys = append(p.keys, bytes.Clone(k))
	}
	if p.fieldName == "" {
		p.fieldName = "csrf_token"
	}
	if p.errorHandler == nil {
		p.errorHandler = defaultErrorHandler
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

// usesCookie reports whether r's secret is the cookie's.
func (p *Protection) usesCookie(r *http.Request) bool {
	return p.store == nil || p.useCookie != nil && p.useCookie(r)
}

// stateKey is the context key of the request's *state.
type stateKey struct{}

// state is what Handler leaves in the request context for Token and
// Rotate: the Protection, and the ResponseWriter, on which a new cookie
// secret is set.
type state struct {
	p *Protection
	w http.ResponseWriter

	cookieRead bool   // cookie and signedNow are known
	cookie     []byte // the cookie secret in force for this response, or nil
	signedNow  bool   // cookie is (or will be) signed with the current key
}

func stateOf(r *http.Request) *state {
	st, _ := r.Context().Value(stateKey{}).(*state)
	return st
}

// Handler returns a handler that checks unsafe requests before passing
// them to next, and lets Token, TemplateField and Rotate work inside next.
func (p *Protection) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &state{p: p, w: w}
		r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		if isSafeMethod(r.Method) || p.isExempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		if err := p.check(r, st); err != nil {
			p.errorHandler(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check runs both layers on an unsafe request.
func (p *Protection) check(r *http.Request, st *state) error {
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
	// A request without a secret never accepts a token: creating one here
	// would let a request mint the secret it is checked against.
	var secret []byte
	if p.usesCookie(r) {
		secret = st.cookieSecret(r)
	} else {
		secret = p.store.Get(r.Context())
	}
	if !verify(secret, token) {
		return ErrBadToken
	}
	return nil
}

// maxFirstPart bounds what is read of a multipart body to find the token
// in its first part: the part's headers and a token are well under it.
const maxFirstPart = 16 << 10

// requestToken returns the token from the first configured header present,
// or else from the form body. The URL query is never read: a token there
// would leak through logs and Referer.
//
// A multipart body is not parsed whole (that would hold or spool a whole
// upload before the check): the token must be its first part, as a form
// puts it when the token field comes before the file input. What is read
// to find it is put back in front of the body for the handler.
func (p *Protection) requestToken(r *http.Request) (string, error) {
	for _, name := range p.headerNames {
		if v := r.Header[name]; len(v) > 0 && v[0] != "" {
			return v[0], nil
		}
	}
	var err error
	if ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		var token string
		token, err = p.firstPartToken(r, params["boundary"])
		if err == nil {
			return token, nil
		}
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

// firstPartToken reads the token field from the first part of r's
// multipart body and restores the body. A body whose first part is
// something else has no token.
func (p *Protection) firstPartToken(r *http.Request, boundary string) (string, error) {
	if r.Body == nil || boundary == "" {
		return "", nil
	}
	var seen bytes.Buffer
	body := r.Body
	defer func() {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(seen.Bytes()), body), body}
	}()
	mr := multipart.NewReader(io.TeeReader(io.LimitReader(body, maxFirstPart), &seen), boundary)
	part, err := mr.NextPart()
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "", err
		}
		return "", nil
	}
	if part.FormName() != p.fieldName || part.FileName() != "" {
		return "", nil
	}
	b, err := io.ReadAll(io.LimitReader(part, 1024))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return "", err
	}
	return string(b), nil
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
func defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrTooLarge):
		http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
	case errors.Is(err, ErrCrossOrigin):
		http.Error(w, "Forbidden: this request came from another site.", http.StatusForbidden)
	default:
		http.Error(w, "Forbidden: the form has expired or is missing its security token. "+
			"Reload the page and try again.", http.StatusForbidden)
	}
}
