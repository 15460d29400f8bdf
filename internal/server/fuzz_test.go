package server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/headers"
)

// FuzzRedirect feeds raw bytes to the plain-HTTP answer path (reading the
// request and writing the answer; the headers package's
// FuzzHTTPSRedirectTarget covers the URL itself): it must never panic,
// always answer 301, 308 or 400 with a connection close, and a redirect must
// be an https URL on a host that passes validation, with no byte in Location
// that could end or split the header.
func FuzzRedirect(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"POST /form?a=1 HTTP/1.1\r\nHost: example.com:8443\r\nContent-Length: 3\r\n\r\nabc",
		"GET http://evil.example/x HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"GET //evil.example/%0d%0a HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n",
		"GET /\xff?\xfe#x\\ HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a@b\r\n\r\n",
		"GET / HTTP/1.1\nHost: h\n\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
		"",
	} {
		f.Add([]byte(seed))
	}
	rd := newRedirector("8443", 0, 4096, quietLogger())
	f.Fuzz(func(t *testing.T, raw []byte) {
		var out bytes.Buffer
		status, err := rd.answer(&out, bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("answer: %v", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(&out), nil)
		if err != nil {
			t.Fatalf("unreadable answer %q: %v", out.String(), err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != status || !resp.Close {
			t.Fatalf("status %d (reported %d), close %v", resp.StatusCode, status, resp.Close)
		}
		loc := resp.Header.Get("Location")
		switch status {
		case http.StatusBadRequest:
			if loc != "" {
				t.Fatalf("400 with Location %q", loc)
			}
			return
		case http.StatusMovedPermanently, http.StatusPermanentRedirect:
		default:
			t.Fatalf("status %d", status)
		}
		for i := 0; i < len(loc); i++ {
			if loc[i] <= ' ' || loc[i] >= 0x7f {
				t.Fatalf("Location %q has byte %#x", loc, loc[i])
			}
		}
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "https" || u.User != nil || u.Fragment != "" {
			t.Fatalf("Location %q: %+v, %v", loc, u, err)
		}
		again := &http.Request{Method: http.MethodGet, Host: u.Host, URL: &url.URL{}}
		if _, _, ok := headers.HTTPSRedirectTarget(again, rd.keepPort); !ok {
			t.Fatalf("Location %q has host %q", loc, u.Host)
		}
		if !strings.HasPrefix(loc, "https://"+u.Host+"/") {
			t.Fatalf("Location %q: path does not start right after the host", loc)
		}
	})
}
