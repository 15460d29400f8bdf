package headers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/headers"
)

// FuzzRedirectHost feeds client-chosen Host headers, paths and queries to
// the https redirect. Whatever comes in, the answer is a 400 without a
// Location, or a redirect to https on the same host, with a path.
func FuzzRedirectHost(f *testing.F) {
	for _, seed := range [][3]string{
		{"example.com", "/", ""},
		{"example.com:80", "/a/b", "c=d"},
		{"example.com:8443", "//evil.example/", ""},
		{"[::1]:8080", "/", "x=%0d%0a"},
		{"", "/", ""},
		{"evil.example/x", "/", ""},
		{"user@evil.example", "/", ""},
		{"example.com\r\nX: y", "/", ""},
		{"[fe80::1%eth0]", "/", ""},
		{"\\\\evil.example", "/\\evil.example", "a#b"},
		{"example.com", "*", ""},
		{"example.com", "", "q=1 2"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	h := headers.New(headers.Policy{ForceHTTPS: true}).Handler(http.NotFoundHandler())
	f.Fuzz(func(t *testing.T, host, path, query string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery = path, "", query
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		loc := rec.Header().Get("Location")
		switch rec.Code {
		case http.StatusBadRequest:
			if loc != "" {
				t.Fatalf("400 with Location %q", loc)
			}
			return
		case http.StatusMovedPermanently:
		default:
			t.Fatalf("status %d for Host %q", rec.Code, host)
		}
		for i := 0; i < len(loc); i++ {
			if loc[i] <= ' ' || loc[i] >= 0x7f {
				t.Fatalf("Location %q has byte %#x", loc, loc[i])
			}
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("Location %q does not parse: %v", loc, err)
		}
		wantHost := strings.TrimSuffix(strings.TrimSuffix(host, ":80"), ":")
		if u.Scheme != "https" || u.User != nil || u.Host == "" || !strings.EqualFold(u.Host, wantHost) && !samePort(u.Host, host) {
			t.Fatalf("Host %q redirected to %q (host %q)", host, loc, u.Host)
		}
		if !strings.HasPrefix(loc, "https://"+u.Host+"/") {
			t.Fatalf("Location %q: path does not follow the host", loc)
		}
	})
}

// samePort accepts a port written with leading zeros ("example.com:0443")
// coming out normalised ("example.com:443").
func samePort(got, sent string) bool {
	gh, gp, ok1 := strings.Cut(got, ":")
	sh, sp, ok2 := strings.Cut(sent, ":")
	return ok1 && ok2 && gh == sh && strings.TrimLeft(sp, "0") == gp
}
