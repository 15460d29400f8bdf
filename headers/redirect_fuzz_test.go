package headers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/headers"
)

// FuzzHTTPSRedirectTarget feeds client-chosen methods, Hosts, paths and
// queries to HTTPSRedirectTarget. Whatever comes in, the answer is a refusal
// without a location, or a 301/308 to https on a host that itself passes,
// with the port only where keepPort allowed it, a path right after the host
// that names the same resource, and no byte that could end or split a
// header.
func FuzzHTTPSRedirectTarget(f *testing.F) {
	for _, seed := range [][5]string{
		{"GET", "example.com", "/", "", ""},
		{"POST", "example.com:80", "/a/b", "", "c=d"},
		{"GET", "example.com:8443", "//evil.example/", "", ""},
		{"GET", "example.com:08443", "/", "", ""},
		{"PUT", "[::1]:8080", "/", "", "x=%0d%0a"},
		{"GET", "[::1]:8443", "/%0d%0a", "/%0d%0a", ""},
		{"GET", "", "/", "", ""},
		{"GET", "evil.example/x", "/", "", ""},
		{"GET", "user@evil.example", "/", "", ""},
		{"GET", "example.com\r\nX: y", "/", "", ""},
		{"GET", "[fe80::1%eth0]", "/", "", ""},
		{"GET", "h:0", "/", "", ""},
		{"GET", "\\\\evil.example", "/\\evil.example", "", "a#b"},
		{"GET", "h", "/caf\xc3\xa9", "", "q=\xc3\xa9#f\r\n"},
		{"OPTIONS", "example.com", "*", "", ""},
		{"CONNECT", "example.com:443", "", "", ""},
		{"GET", "example.com", "", "", "q=1 2"},
		{"GET", "example.com", "evil.com", "", ""},
		{"GET", "h", "/a b", "/a%20b", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3], seed[4])
	}
	f.Fuzz(func(t *testing.T, method, host, path, rawPath, query string) {
		r := &http.Request{Method: method, Host: host,
			URL: &url.URL{Path: path, RawPath: rawPath, RawQuery: query}}
		status, loc, ok := headers.HTTPSRedirectTarget(r, keep8443)
		if !ok {
			if status != http.StatusBadRequest || loc != "" {
				t.Fatalf("refused with %d %q", status, loc)
			}
			return
		}
		want := http.StatusPermanentRedirect
		if method == "GET" || method == "HEAD" {
			want = http.StatusMovedPermanently
		}
		if status != want {
			t.Fatalf("%s: status %d", method, status)
		}
		for i := 0; i < len(loc); i++ {
			if loc[i] <= ' ' || loc[i] >= 0x7f {
				t.Fatalf("Location %q has byte %#x", loc, loc[i])
			}
		}
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "https" || u.User != nil || u.Host == "" || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("Host %q, path %q: Location %q: %+v, %v", host, path, loc, u, err)
		}
		if !strings.HasPrefix(loc, "https://"+u.Host+"/") {
			t.Fatalf("Location %q: path does not start right after the host", loc)
		}
		// The host is the client's own, minus a port keepPort refused.
		name, port := u.Hostname(), u.Port()
		if strings.Contains(u.Host, ":") && !strings.HasSuffix(u.Host, "]") && port != "8443" {
			t.Fatalf("Host %q: Location %q kept port %q", host, loc, port)
		}
		if !strings.HasPrefix(host, name) && !strings.HasPrefix(host, "["+name+"]") {
			t.Fatalf("Host %q redirected to host %q", host, u.Host)
		}
		if _, again, ok := headers.HTTPSRedirectTarget(&http.Request{Method: "GET", Host: u.Host, URL: &url.URL{}}, keep8443); !ok || again != "https://"+u.Host+"/" {
			t.Fatalf("Location host %q does not pass again: %q", u.Host, again)
		}
		// Same resource.
		if wantPath := r.URL.Path; wantPath != "" && wantPath != "*" && u.Path != wantPath {
			t.Fatalf("path %q (raw %q) redirected to path %q", path, rawPath, u.Path)
		}
	})
}
