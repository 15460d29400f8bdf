package headers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Defaults for the fixed headers. Each can be replaced through [Policy].
const (
	// DefaultReferrerPolicy sends the origin (never the path or query) to
	// other sites, and nothing from https to http.
	DefaultReferrerPolicy = "strict-origin-when-cross-origin"

	// DefaultPermissionsPolicy turns off powerful browser features the
	// pages do not use, for this origin and any frame it embeds. It names
	// only features current browsers recognise: an unknown name (such as
	// the retired interest-cohort) makes Chrome log an error on every page.
	DefaultPermissionsPolicy = "accelerometer=(), camera=(), display-capture=(), geolocation=(), " +
		"gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=()"

	// reportingEndpoint is the name report-to refers to in
	// the Reporting-Endpoints header.
	reportingEndpoint = "csp-endpoint"
)

// Policy says which headers to send. The zero value is a strict policy
// without HSTS or redirect, fit for local development; production turns on
// HSTSMaxAge and ForceHTTPS.
type Policy struct {
	// CSP is the Content-Security-Policy. Nil means DefaultCSP().
	CSP CSP

	// NonceDirectives lists the directives that get the request's nonce.
	// Nil means just script-src; an empty, non-nil slice means none.
	// style-src is not in the default: pages load a static stylesheet,
	// which default-src 'self' allows without a nonce.
	NonceDirectives []string

	// ReportURI, when set (for example "/csp-report"), makes browsers
	// report violations there: it adds report-uri and report-to to the CSP
	// and a Reporting-Endpoints header. Browsers POST either
	// application/csp-report (report-uri) or application/reports+json
	// (report-to), so the receiving handler should accept both.
	ReportURI string

	// HSTSMaxAge is the max-age of Strict-Transport-Security, which is
	// sent with includeSubDomains. Zero (or less) sends no HSTS header.
	HSTSMaxAge time.Duration

	// HSTSPreload adds "preload" to the HSTS header, the consent the
	// browsers' preload list asks for. Only for domains meant to be on it.
	HSTSPreload bool

	// ForceHTTPS redirects requests that did not come over HTTPS to the
	// same URL with https: 301 for GET and HEAD, 308 (which keeps the method
	// and body) for the rest. It also turns HSTS on for plain-HTTP responses.
	ForceHTTPS bool

	// IsHTTPS reports whether a request came over HTTPS. Nil means
	// r.TLS != nil: X-Forwarded-Proto is not believed, because any client
	// can send it. Behind a TLS-terminating proxy, pass a function that
	// believes the header only from the proxy's addresses.
	IsHTTPS func(*http.Request) bool

	// RedirectExempt reports requests that ForceHTTPS leaves alone, such as
	// a load balancer's health check over plain HTTP. Nil exempts none.
	RedirectExempt func(*http.Request) bool

	// PermissionsPolicy is the Permissions-Policy header. Empty means
	// DefaultPermissionsPolicy.
	PermissionsPolicy string

	// ReferrerPolicy is the Referrer-Policy header. Empty means
	// DefaultReferrerPolicy.
	ReferrerPolicy string
}

// Headers is the middleware built from a Policy by New or MustNew. It is safe for
// concurrent use.
type Headers struct {
	csp               compiledCSP
	hsts              string // "" = never
	forceHTTPS        bool
	isHTTPS           func(*http.Request) bool
	redirectExempt    func(*http.Request) bool
	permissionsPolicy string
	referrerPolicy    string
	reportingEnds     string // Reporting-Endpoints value; "" = none
}

// New compiles p. The static part of the CSP is rendered here once; each
// request only splices in its nonce.
//
// New returns an error if p cannot be written as headers: a directive name
// or source with spaces, ';', ',' or control characters; a fixed 'nonce-…'
// source; a ReportURI with those or with quotes; a policy string with
// control characters.
func New(p Policy) (*Headers, error) {
	csp := p.CSP
	if csp == nil {
		csp = DefaultCSP()
	}
	nonceDirs := p.NonceDirectives
	if nonceDirs == nil {
		nonceDirs = []string{"script-src"}
	}
	compiled, err := compile(csp, nonceDirs, p.ReportURI)
	if err != nil {
		return nil, err
	}
	h := &Headers{
		csp:               compiled,
		forceHTTPS:        p.ForceHTTPS,
		isHTTPS:           p.IsHTTPS,
		redirectExempt:    p.RedirectExempt,
		permissionsPolicy: p.PermissionsPolicy,
		referrerPolicy:    p.ReferrerPolicy,
	}
	if h.isHTTPS == nil {
		h.isHTTPS = func(r *http.Request) bool { return r.TLS != nil }
	}
	if h.permissionsPolicy == "" {
		h.permissionsPolicy = DefaultPermissionsPolicy
	}
	if h.referrerPolicy == "" {
		h.referrerPolicy = DefaultReferrerPolicy
	}
	if err := checkHeaderValue("PermissionsPolicy", h.permissionsPolicy); err != nil {
		return nil, err
	}
	if err := checkHeaderValue("ReferrerPolicy", h.referrerPolicy); err != nil {
		return nil, err
	}
	if p.ReportURI != "" {
		h.reportingEnds = reportingEndpoint + `="` + p.ReportURI + `"`
	}
	if secs := int64(p.HSTSMaxAge / time.Second); secs > 0 {
		h.hsts = "max-age=" + strconv.FormatInt(secs, 10) + "; includeSubDomains"
		if p.HSTSPreload {
			h.hsts += "; preload"
		}
	}
	return h, nil
}

// MustNew is New for a Policy written into the program: it panics where New
// returns an error, so that a mistake stops the program at start-up, as an
// invalid pattern passed to http.ServeMux.Handle does.
func MustNew(p Policy) *Headers {
	h, err := New(p)
	if err != nil {
		panic(err)
	}
	return h
}

// nonceKey is the context key under which Handler stores the nonce.
type nonceKey struct{}

// Nonce returns the CSP nonce of the request whose context is ctx, or ""
// outside the middleware. It is 128 bits from crypto/rand, base64-encoded,
// and new for every request.
func Nonce(ctx context.Context) string {
	n, _ := ctx.Value(nonceKey{}).(string)
	return n
}

// nonceLen is the base64 length of a 16-byte nonce.
const nonceLen = 24

// Handler returns a handler that sets the policy's headers and then either
// redirects to https or calls next with the nonce in the request's context.
func (h *Headers) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var raw [16]byte
		// crypto/rand.Read never fails (Go 1.24+): on a broken system
		// source the program stops rather than hand out a weak nonce.
		_, _ = rand.Read(raw[:])
		var enc [nonceLen]byte
		base64.StdEncoding.Encode(enc[:], raw[:])
		csp, nonce := h.csp.render(enc[:])

		secure := h.isHTTPS(r)
		h.set(w.Header(), csp, secure || h.forceHTTPS)

		if h.forceHTTPS && !secure && (h.redirectExempt == nil || !h.redirectExempt(r)) {
			redirectToHTTPS(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce)))
	})
}

// set writes the headers into hdr. The values share one backing array, each
// sliced with its capacity capped so a later Add cannot overwrite a neighbour.
func (h *Headers) set(hdr http.Header, csp string, hsts bool) {
	vals := [...]string{
		csp,
		"nosniff",
		"DENY",
		h.referrerPolicy,
		h.permissionsPolicy,
		"same-origin",
		"same-origin",
		"0",
		h.hsts,
		h.reportingEnds,
	}
	v := vals[:]
	hdr["Content-Security-Policy"] = v[0:1:1]
	hdr["X-Content-Type-Options"] = v[1:2:2]
	hdr["X-Frame-Options"] = v[2:3:3]
	hdr["Referrer-Policy"] = v[3:4:4]
	hdr["Permissions-Policy"] = v[4:5:5]
	hdr["Cross-Origin-Opener-Policy"] = v[5:6:6]
	hdr["Cross-Origin-Resource-Policy"] = v[6:7:7]
	// The legacy XSS auditor that "1; mode=block" switched on could be
	// abused to leak data; OWASP advises turning it off and relying on CSP.
	hdr["X-Xss-Protection"] = v[7:8:8]
	if hsts && h.hsts != "" {
		hdr["Strict-Transport-Security"] = v[8:9:9]
	}
	if h.reportingEnds != "" {
		hdr["Reporting-Endpoints"] = v[9:10:10]
	}
}

// checkHeaderValue refuses v if it has bytes a header value must not carry.
func checkHeaderValue(name, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return errors.New("headers: " + name + " has a control character")
		}
	}
	return nil
}
