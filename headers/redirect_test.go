package headers_test

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/headers"
)

// keep8443 is the server's rule for an HTTPS listener on 8443.
func keep8443(port string) bool { return port == "8443" }

// wire parses raw as a request off the wire, as net/http does.
func wire(t testing.TB, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return r
}

// withHost is a GET for "/" with the given Host value, which need not be one
// net/http would accept off the wire: a proxy or a handler may have set it.
func withHost(host string) *http.Request {
	return &http.Request{Method: http.MethodGet, Host: host, URL: &url.URL{Path: "/"}}
}

func TestHTTPSRedirectTarget(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		status    int
	}{
		{"GET /a/b%20c?x=1&y=%2F HTTP/1.1\r\nHost: example.com\r\n\r\n", "https://example.com/a/b%20c?x=1&y=%2F", 301},
		{"HEAD /x HTTP/1.0\r\nHost: Example.COM\r\n\r\n", "https://Example.COM/x", 301},
		{"POST /login HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/login", 308},
		{"PUT /x HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/x", 308},
		{"DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/x", 308},
		{"PATCH /x HTTP/1.1\r\nHost: 10.0.0.1:80\r\n\r\n", "https://10.0.0.1/x", 308},
		// keepPort decides, and sees the canonical port.
		{"GET /x HTTP/1.1\r\nHost: example.com:8443\r\n\r\n", "https://example.com:8443/x", 301},
		{"GET /x HTTP/1.1\r\nHost: example.com:08443\r\n\r\n", "https://example.com:8443/x", 301},
		{"GET /x HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "https://example.com/x", 301},
		{"GET /x HTTP/1.1\r\nHost: example.com:\r\n\r\n", "https://example.com/x", 301},
		{"GET /x HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n", "https://[2001:db8::1]:8443/x", 301},
		{"GET /x HTTP/1.1\r\nHost: [::1]\r\n\r\n", "https://[::1]/x", 301},
		{"GET /x HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n", "https://127.0.0.1:8443/x", 301},
		{"GET /x HTTP/1.1\r\nHost: my_host.internal\r\n\r\n", "https://my_host.internal/x", 301},
		// Absolute form: its authority wins over Host (RFC 9112, 3.2.2).
		{"GET http://other.example/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n", "https://other.example/p?q", 301},
		{"GET http://other.example HTTP/1.1\r\nHost: example.com\r\n\r\n", "https://other.example/", 301},
		{"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/", 308},
		// Encoded CR LF stay encoded; raw bytes that have no place in a
		// header, '#' and '\' are encoded.
		{"GET /%0d%0aSet-Cookie:%20x HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/%0d%0aSet-Cookie:%20x", 301},
		{"GET /caf\xc3\xa9?q=\xc3\xa9#f HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/caf%C3%A9?q=%C3%A9%23f", 301},
		{"GET /a\\b?c=\\x HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/a%5Cb?c=%5Cx", 301},
		// A path that looks like an authority stays a path of h.
		{"GET //evil.example/ HTTP/1.1\r\nHost: h\r\n\r\n", "https://h//evil.example/", 301},
	} {
		status, loc, ok := headers.HTTPSRedirectTarget(wire(t, tc.raw), keep8443)
		if !ok || status != tc.status || loc != tc.want {
			t.Errorf("%q: %d %q %v, want %d %q", tc.raw, status, loc, ok, tc.status, tc.want)
		}
		if u, err := url.Parse(loc); err != nil || u.Scheme != "https" {
			t.Errorf("%q: Location %q does not parse as https: %v", tc.raw, loc, err)
		}
	}
}

// A query a handler or proxy left with raw bytes that could end the header
// or start a fragment is encoded, not copied.
func TestHTTPSRedirectTargetEncodesRawQuery(t *testing.T) {
	r := withHost("h")
	r.URL.RawQuery = "a=1\r\nSet-Cookie: x=y#frag\x00\x7f"
	_, loc, ok := headers.HTTPSRedirectTarget(r, nil)
	if want := "https://h/?a=1%0D%0ASet-Cookie:%20x=y%23frag%00%7F"; !ok || loc != want {
		t.Errorf("Location %q, %v; want %q", loc, ok, want)
	}
}

// A Host or target that could steer the redirect to another origin, add user
// info, or split the header is refused.
func TestHTTPSRedirectTargetRefuses(t *testing.T) {
	hosts := []string{
		"",                          // no host (HTTP/1.0 without Host)
		"a b",                       // space
		"a\x01b", "exa\x00mple.com", // control bytes
		"example.com\r\nSet-Cookie: a=b",         // header split
		"evil.com@good.com", "user@evil.example", // user info
		"good.com/evil", "evil.example/x", "/evil.example", // path in host
		"good.com\\@evil.com", "evil.example\\x", "\\\\evil.example", // backslash tricks
		"?evil", "#evil", "a%2eexample", // query, fragment, escapes
		".evil", "-evil", // not a name
		"ex\u00e4mple.com",               // not punycode
		"[::1%25eth0]", "[fe80::1%eth0]", // zones
		"[::1", "[::1]x", "[127.0.0.1]", "[1.2.3.4]", "[]", // broken brackets
		"good.com:99999", "good.com:65536", "good.com:0", "good.com:00000", // out of range
		"good.com:-1", "good.com:+1", "good.com:http", "good.com:80:80", "good.com:000080", // not a port
		"[::1]:0", "[::1]:x",
		strings.Repeat("a", 254),                                            // name too long
		strings.Repeat("a", 10000),                                          // huge
		strings.Repeat("a.", 200) + "com",                                   // too long, valid bytes
		"\xff\xfe", "example.com\u2028", "example.com\t", "example.com\x7f", // more bytes
	}
	for _, host := range hosts {
		status, loc, ok := headers.HTTPSRedirectTarget(withHost(host), keep8443)
		if ok || status != http.StatusBadRequest || loc != "" {
			t.Errorf("Host %q: %d %q %v, want 400 and no location", host, status, loc, ok)
		}
	}
	for _, r := range []*http.Request{
		wire(t, "CONNECT good.com:443 HTTP/1.1\r\nHost: good.com\r\n\r\n"), // asks for a tunnel
		wire(t, "GET http:evil HTTP/1.1\r\nHost: good.com\r\n\r\n"),        // opaque, no path
		{Method: "GET", Host: "good.com", URL: &url.URL{Path: "evil.com"}}, // would join the host
		{Method: "GET", Host: "good.com", URL: &url.URL{Path: ".evil.com/"}},
		{Method: "GET", Host: "good.com"}, // no URL at all
	} {
		status, loc, ok := headers.HTTPSRedirectTarget(r, keep8443)
		if ok || status != http.StatusBadRequest || loc != "" {
			t.Errorf("%s %v: %d %q %v, want 400 and no location", r.Method, r.URL, status, loc, ok)
		}
	}
}

// Longest values that are still fine: the caps must not cut valid hosts.
func TestHTTPSRedirectTargetLimits(t *testing.T) {
	name := strings.Repeat("a", 253)
	for host, want := range map[string]string{
		name:            "https://" + name + "/",
		name + ":8443":  "https://" + name + ":8443/",
		name + ":65535": "https://" + name + "/",
		"h:1":           "https://h/",
		"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:8443": "https://[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:8443/",
	} {
		if _, loc, ok := headers.HTTPSRedirectTarget(withHost(host), keep8443); !ok || loc != want {
			t.Errorf("Host %.20q…: %q %v, want %q", host, loc, ok, want)
		}
	}
}

// keepPort sees only validated, canonical ports, and nil drops them all.
func TestHTTPSRedirectTargetKeepPort(t *testing.T) {
	var seen []string
	keep := func(p string) bool { seen = append(seen, p); return true }
	for _, host := range []string{"h", "h:", "h:00443", "[::1]:080", "h:0"} {
		headers.HTTPSRedirectTarget(withHost(host), keep)
	}
	if got := strings.Join(seen, ","); got != "443,80" {
		t.Errorf("keepPort saw %q, want \"443,80\"", got)
	}
	if _, loc, _ := headers.HTTPSRedirectTarget(withHost("h:8443"), nil); loc != "https://h/" {
		t.Errorf("nil keepPort: %q", loc)
	}
}

func BenchmarkHTTPSRedirectTarget(b *testing.B) {
	r := wire(b, "GET /some/path?with=query HTTP/1.1\r\nHost: example.com:8443\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, ok := headers.HTTPSRedirectTarget(r, keep8443); !ok {
			b.Fatal("refused")
		}
	}
}
