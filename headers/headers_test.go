package headers_test

import (
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/headers"
)

// fixed lists the headers whose value does not depend on the request.
var fixed = map[string]string{
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "strict-origin-when-cross-origin",
	"Permissions-Policy":           headers.DefaultPermissionsPolicy,
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"X-XSS-Protection":             "0",
}

// defaultCSP is CONTRACT.md's policy; group 1 is the nonce.
var defaultCSP = regexp.MustCompile(`^default-src 'self'; script-src 'self' 'nonce-([A-Za-z0-9+/]{22}==)'; ` +
	`object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'$`)

// recoverer stands in for the app's panic recovery: it answers 500 on the
// same ResponseWriter, after the headers middleware has run.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func app() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Request Entity Too Large", http.StatusRequestEntityTooLarge)
	})
	mux.HandleFunc("GET /limited", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
	})
	return mux
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestEveryResponseCarriesHeaders(t *testing.T) {
	h := recoverer(headers.MustNew(headers.Policy{HSTSMaxAge: 365 * 24 * time.Hour}).Handler(app()))
	cases := []struct {
		method, target string
		code           int
	}{
		{"GET", "https://example.com/ok", 200},
		{"GET", "https://example.com/missing", 404},
		{"POST", "https://example.com/ok", 405},
		{"GET", "https://example.com/panic", 500},
		{"POST", "https://example.com/upload", 413},
		{"GET", "https://example.com/limited", 429},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			rec := serve(h, httptest.NewRequest(tc.method, tc.target, nil))
			if rec.Code != tc.code {
				t.Fatalf("status %d, want %d", rec.Code, tc.code)
			}
			// The headers as sent: a snapshot taken when the status was
			// written, so headers set after that do not count.
			sent := rec.Result().Header
			for name, want := range fixed {
				if got := sent.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if got := sent.Get("Content-Security-Policy"); !defaultCSP.MatchString(got) {
				t.Errorf("Content-Security-Policy = %q, want CONTRACT's policy with a nonce", got)
			}
			if got, want := sent.Get("Strict-Transport-Security"), "max-age=31536000; includeSubDomains"; got != want {
				t.Errorf("Strict-Transport-Security = %q, want %q", got, want)
			}
		})
	}
}

func TestNonceFreshAndInContext(t *testing.T) {
	var seen string
	h := headers.MustNew(headers.Policy{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = headers.Nonce(r.Context())
	}))
	nonces := map[string]bool{}
	for range 200 {
		rec := serve(h, httptest.NewRequest("GET", "/", nil))
		m := defaultCSP.FindStringSubmatch(rec.Header().Get("Content-Security-Policy"))
		if m == nil {
			t.Fatalf("CSP %q does not match", rec.Header().Get("Content-Security-Policy"))
		}
		if m[1] != seen {
			t.Fatalf("nonce in CSP %q != Nonce(ctx) %q", m[1], seen)
		}
		raw, err := base64.StdEncoding.DecodeString(seen)
		if err != nil || len(raw) != 16 {
			t.Fatalf("nonce %q is not 128 bits of base64 (err %v)", seen, err)
		}
		if nonces[seen] {
			t.Fatalf("nonce %q repeated", seen)
		}
		nonces[seen] = true
	}
	if got := headers.Nonce(t.Context()); got != "" {
		t.Errorf("Nonce outside the middleware = %q, want empty", got)
	}
}

// directive returns the sources of name in policy, and whether it is there.
func directive(policy, name string) ([]string, bool) {
	for d := range strings.SplitSeq(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 && f[0] == name {
			return f[1:], true
		}
	}
	return nil, false
}

func cspFor(t *testing.T, p headers.Policy) string {
	t.Helper()
	rec := serve(headers.MustNew(p).Handler(http.NotFoundHandler()), httptest.NewRequest("GET", "/", nil))
	return rec.Header().Get("Content-Security-Policy")
}

// An injected inline script runs if script-src allows 'unsafe-inline'
// without a nonce. No policy we emit may allow that.
func TestNeverUnsafeInlineScripts(t *testing.T) {
	cases := []headers.Policy{
		{},
		{CSP: headers.CSP{"default-src": {"'self'"}, "script-src": {"'self'", "'unsafe-inline'"}}},
		{CSP: headers.CSP{"default-src": {"'self'", "'unsafe-inline'"}}},
		{CSP: headers.CSP{"default-src": {"'self'", "'UNSAFE-INLINE'"}}, NonceDirectives: []string{}},
		{CSP: headers.CSP{"script-src-elem": {"'unsafe-inline'"}, "script-src-attr": {"'unsafe-inline'"}}},
	}
	for _, p := range cases {
		policy := cspFor(t, p)
		governing := []string{"script-src", "script-src-elem", "script-src-attr"}
		if _, ok := directive(policy, "script-src"); !ok {
			governing = append(governing, "default-src") // the fallback for scripts
		}
		for _, name := range governing {
			src, _ := directive(policy, name)
			for _, s := range src {
				if strings.EqualFold(s, "'unsafe-inline'") {
					t.Errorf("policy %q lets inline scripts run through %s", policy, name)
				}
			}
		}
		if src, ok := directive(policy, "script-src"); p.NonceDirectives == nil &&
			(!ok || len(src) == 0 || !strings.HasPrefix(src[len(src)-1], "'nonce-")) {
			t.Errorf("policy %q: script-src without the nonce", policy)
		}
	}
}

func TestNonceDirectives(t *testing.T) {
	policy := cspFor(t, headers.Policy{
		CSP:             headers.CSP{"default-src": {"'self'"}, "script-src": {"'none'"}, "upgrade-insecure-requests": nil},
		NonceDirectives: []string{"script-src", "style-src"},
	})
	script, _ := directive(policy, "script-src")
	style, ok := directive(policy, "style-src")
	if len(script) != 1 || !strings.HasPrefix(script[0], "'nonce-") {
		t.Errorf("script-src %q: want only the nonce ('none' dropped)", script)
	}
	if !ok || len(style) != 2 || style[0] != "'self'" || style[1] != script[0] {
		t.Errorf("style-src %q: want default-src's sources plus the same nonce as script-src %q", style, script)
	}
	if !strings.Contains(policy, "; upgrade-insecure-requests") {
		t.Errorf("policy %q lost upgrade-insecure-requests", policy)
	}

	policy = cspFor(t, headers.Policy{NonceDirectives: []string{}})
	if strings.Contains(policy, "nonce-") {
		t.Errorf("policy %q has a nonce though NonceDirectives is empty", policy)
	}
}

func TestReportURI(t *testing.T) {
	rec := serve(headers.MustNew(headers.Policy{ReportURI: "/csp-report"}).Handler(http.NotFoundHandler()),
		httptest.NewRequest("GET", "/", nil))
	policy := rec.Header().Get("Content-Security-Policy")
	if !strings.HasSuffix(policy, "; report-uri /csp-report; report-to csp-endpoint") {
		t.Errorf("policy %q lacks the reporting directives", policy)
	}
	if got, want := rec.Header().Get("Reporting-Endpoints"), `csp-endpoint="/csp-report"`; got != want {
		t.Errorf("Reporting-Endpoints = %q, want %q", got, want)
	}
}

// A policy that cannot be written safely as headers is refused when it is
// built, never sent: New returns an error, MustNew panics.
func TestBadPolicyRefusedAtNew(t *testing.T) {
	cases := map[string]headers.Policy{
		"directive injection": {CSP: headers.CSP{"script-src": {"'self'; script-src *"}}},
		"space in source":     {CSP: headers.CSP{"script-src": {"'self' *"}}},
		"bad directive name":  {CSP: headers.CSP{"script src": {"'self'"}}},
		"duplicate directive": {CSP: headers.CSP{"script-src": {"'self'"}, "Script-Src": {"'self'"}}},
		"fixed nonce":         {CSP: headers.CSP{"script-src": {"'nonce-abc'"}}},
		"bad nonce directive": {NonceDirectives: []string{"script-src;"}},
		"quote in ReportURI":  {ReportURI: `/r"x`},
		"newline in policy":   {ReferrerPolicy: "no-referrer\r\nSet-Cookie: a=b"},
		"control in perms":    {PermissionsPolicy: "camera=()\x00"},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			h, err := headers.New(p)
			if err == nil || h != nil || !strings.HasPrefix(err.Error(), "headers: ") {
				t.Errorf("New = %v, %v; want a headers: error", h, err)
			}
			defer func() {
				if recover() == nil {
					t.Error("MustNew accepted a policy it cannot write safely")
				}
			}()
			headers.MustNew(p)
		})
	}
	if _, err := headers.New(headers.Policy{}); err != nil {
		t.Errorf("New(zero Policy) = %v", err)
	}
}

func TestHSTS(t *testing.T) {
	year := 365 * 24 * time.Hour
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	cases := []struct {
		name   string
		p      headers.Policy
		target string
		want   string
	}{
		{"https", headers.Policy{HSTSMaxAge: year}, "https://example.com/", "max-age=31536000; includeSubDomains"},
		{"preload", headers.Policy{HSTSMaxAge: year, HSTSPreload: true}, "https://example.com/", "max-age=31536000; includeSubDomains; preload"},
		{"plain http dev", headers.Policy{HSTSMaxAge: year}, "http://example.com/", ""},
		{"off", headers.Policy{}, "https://example.com/", ""},
		{"force https on exempt plain request", headers.Policy{HSTSMaxAge: year, ForceHTTPS: true,
			RedirectExempt: func(*http.Request) bool { return true }}, "http://example.com/", "max-age=31536000; includeSubDomains"},
	}
	for _, tc := range cases {
		rec := serve(headers.MustNew(tc.p).Handler(ok), httptest.NewRequest("GET", tc.target, nil))
		if got := rec.Header().Get("Strict-Transport-Security"); got != tc.want {
			t.Errorf("%s: Strict-Transport-Security = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Behind a proxy the https port is unknown: the redirect keeps the port the
// client named, except 80. What HTTPSRedirectTarget checks (Host injection,
// encoding) is tested in redirect_test.go; this tests the wiring and the
// port rule.
func TestRedirectToHTTPS(t *testing.T) {
	h := headers.MustNew(headers.Policy{ForceHTTPS: true, HSTSMaxAge: time.Hour}).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Errorf("next called for %s %s", r.Method, r.URL) }))
	cases := []struct {
		method, target, host string
		code                 int
		location             string
	}{
		{"GET", "/a/b?c=d&e=%2F", "example.com", 301, "https://example.com/a/b?c=d&e=%2F"},
		{"POST", "/login", "example.com", 308, "https://example.com/login"},
		{"GET", "/", "example.com:80", 301, "https://example.com/"},
		{"GET", "/", "example.com:0080", 301, "https://example.com/"},
		{"GET", "/", "example.com:8080", 301, "https://example.com:8080/"},
		{"GET", "/", "example.com:443", 301, "https://example.com:443/"},
		{"GET", "/", "[::1]:8080", 301, "https://[::1]:8080/"},
		// Refused by HTTPSRedirectTarget: 400 and no Location.
		{"GET", "/", "user@evil.example", 400, ""},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		r.Host = tc.host
		rec := serve(h, r)
		if rec.Code != tc.code || rec.Header().Get("Location") != tc.location {
			t.Errorf("%s %s (Host %q): %d %q, want %d %q", tc.method, tc.target, tc.host,
				rec.Code, rec.Header().Get("Location"), tc.code, tc.location)
		}
		if sent := rec.Result().Header; sent.Get("X-Frame-Options") != "DENY" || !defaultCSP.MatchString(sent.Get("Content-Security-Policy")) {
			t.Errorf("redirect lacks the security headers: %v", rec.Header())
		}
	}
}

func TestIsHTTPS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

	// The default believes only the connection: a client saying
	// X-Forwarded-Proto: https over plain HTTP is still redirected.
	h := headers.MustNew(headers.Policy{ForceHTTPS: true}).Handler(ok)
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.Header.Set("X-Forwarded-Proto", "https")
	if rec := serve(h, r); rec.Code != http.StatusMovedPermanently {
		t.Errorf("spoofed X-Forwarded-Proto: status %d, want 301", rec.Code)
	}
	r = httptest.NewRequest("GET", "http://example.com/", nil)
	r.TLS = &tls.ConnectionState{}
	if rec := serve(h, r); rec.Code != http.StatusOK {
		t.Errorf("TLS request: status %d, want 200", rec.Code)
	}

	// A hook that believes the header from a trusted proxy only.
	proxy := func(r *http.Request) bool {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return r.TLS != nil || host == "10.0.0.1" && r.Header.Get("X-Forwarded-Proto") == "https"
	}
	h = headers.MustNew(headers.Policy{ForceHTTPS: true, HSTSMaxAge: time.Hour, IsHTTPS: proxy}).Handler(ok)
	r = httptest.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = "10.0.0.1:5555"
	r.Header.Set("X-Forwarded-Proto", "https")
	if rec := serve(h, r); rec.Code != http.StatusOK || rec.Header().Get("Strict-Transport-Security") == "" {
		t.Errorf("via trusted proxy: status %d HSTS %q, want 200 with HSTS", rec.Code, rec.Header().Get("Strict-Transport-Security"))
	}
	r.RemoteAddr = "203.0.113.9:5555"
	if rec := serve(h, r); rec.Code != http.StatusMovedPermanently {
		t.Errorf("from an untrusted address: status %d, want 301", rec.Code)
	}
}

func TestRedirectExempt(t *testing.T) {
	h := headers.MustNew(headers.Policy{
		ForceHTTPS:     true,
		RedirectExempt: func(r *http.Request) bool { return r.URL.Path == "/healthz" },
	}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	if rec := serve(h, httptest.NewRequest("GET", "http://example.com/healthz", nil)); rec.Code != 200 {
		t.Errorf("/healthz: status %d, want 200", rec.Code)
	}
	if rec := serve(h, httptest.NewRequest("GET", "http://example.com/healthz/x", nil)); rec.Code != 301 {
		t.Errorf("/healthz/x: status %d, want 301", rec.Code)
	}
}

func BenchmarkHandler(b *testing.B) {
	h := headers.MustNew(headers.Policy{HSTSMaxAge: time.Hour, ReportURI: "/csp-report"}).Handler(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	}
}
