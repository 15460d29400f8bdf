package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A browser that types http:// for the HTTPS port gets a redirect to https,
// not a TLS error, and the connection is closed.
func TestPlainHTTPOnTLSPortRedirects(t *testing.T) {
	s, pki, _ := startTLS(t, Options{})
	addr := s.Addr().String()
	client := noFollowClient(t)
	for _, tc := range []struct {
		method string
		status int
	}{
		{http.MethodGet, http.StatusMovedPermanently},
		{http.MethodHead, http.StatusMovedPermanently},
		{http.MethodPost, http.StatusPermanentRedirect},
		{http.MethodDelete, http.StatusPermanentRedirect},
	} {
		var body io.Reader
		if tc.method == http.MethodPost {
			body = strings.NewReader(strings.Repeat("field=value&", 10000))
		}
		req, _ := http.NewRequest(tc.method, "http://"+addr+"/a/b%20c?x=1&y=%2F", body)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		resp.Body.Close()
		want := "https://" + addr + "/a/b%20c?x=1&y=%2F"
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d %q, want %d %q", tc.method, resp.StatusCode, resp.Header.Get("Location"), tc.status, want)
		}
		if !resp.Close {
			t.Errorf("%s: answer does not close the connection", tc.method)
		}
	}
	// The TLS side still works next to it.
	resp, err := httpsClient(t, pki).Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestRedirectListener(t *testing.T) {
	s, _, _ := startTLS(t, Options{HTTPAddr: "127.0.0.1:0"})
	_, tlsPort, _ := net.SplitHostPort(s.Addr().String())
	httpAddr := s.HTTPAddr().String()
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	client := noFollowClient(t)
	for _, tc := range []struct {
		method, host, want string
		status             int
	}{
		// The plain port is dropped: https is on its default port 443...
		{"GET", "example.com:" + httpPort, "https://example.com/p?q=1", 301},
		{"GET", "example.com", "https://example.com/p?q=1", 301},
		// ...unless the client named the HTTPS port itself.
		{"GET", "example.com:" + tlsPort, "https://example.com:" + tlsPort + "/p?q=1", 301},
		{"PUT", "[::1]:" + httpPort, "https://[::1]/p?q=1", 308},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+httpAddr+"/p?q=1", nil)
		req.Host = tc.host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.want {
			t.Errorf("%s Host %s: %d %q, want %d %q", tc.method, tc.host, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.want)
		}
	}
	// A TLS client on the redirect port is dropped at once. The server's
	// ReadHeaderTimeout is the default 5s; the test allows 4s.
	c, err := net.Dial("tcp", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "\x16\x03\x01\x00\x05hello")
	c.SetReadDeadline(time.Now().Add(4 * time.Second))
	b, err := io.ReadAll(c) // EOF, or a reset for the unread bytes
	if ne, ok := err.(net.Error); len(b) != 0 || ok && ne.Timeout() {
		t.Errorf("TLS bytes on the redirect port: read %q, %v; want a close", b, err)
	}
}

// Requests whose host could steer or split the Location header get 400.
func TestRedirectRefusesBadHosts(t *testing.T) {
	s, _, _ := startTLS(t, Options{})
	addr := s.Addr().String()
	for _, raw := range []string{
		"GET / HTTP/1.0\r\n\r\n",                                                             // no host at all
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",                                                   // empty host
		"GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n",                                             // control byte
		"GET / HTTP/1.1\r\nHost: evil.com@good.com\r\n\r\n",                                  // user info
		"GET / HTTP/1.1\r\nHost: good.com/evil\r\n\r\n",                                      // path in host
		"GET / HTTP/1.1\r\nHost: good.com\\@evil.com\r\n\r\n",                                // backslash trick
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",                                       // two hosts
		"GET / HTTP/1.1\r\nHost: [::1%25eth0]\r\n\r\n",                                       // zone
		"GET / HTTP/1.1\r\nHost: good.com:99999\r\n\r\n",                                     // bad port
		"GET / HTTP/1.1\r\nHost: good.com\r\nX: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", // too big
		"OPTIONS * HTTP/1.1\r\nHost: good.com\r\n\r\n",                                       // no resource
		"CONNECT good.com:443 HTTP/1.1\r\nHost: good.com\r\n\r\n",                            // no resource
		"not http at all\r\n\r\n",
	} {
		if resp := rawExchange(t, addr, raw); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%.60q: status %d, want 400", raw, resp.StatusCode)
		}
	}
}

func TestRedirectTarget(t *testing.T) {
	rd := newRedirector("8443", 0, DefaultMaxHeaderBytes, quietLogger())
	for _, tc := range []struct {
		raw, want string
		status    int
	}{
		{"GET /x HTTP/1.1\r\nHost: Example.COM\r\n\r\n", "https://Example.COM/x", 301},
		{"HEAD /x HTTP/1.0\r\nHost: example.com:8443\r\n\r\n", "https://example.com:8443/x", 301},
		{"GET /x HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "https://example.com/x", 301},
		{"GET /x HTTP/1.1\r\nHost: example.com:\r\n\r\n", "https://example.com/x", 301},
		{"PATCH /x HTTP/1.1\r\nHost: 10.0.0.1:80\r\n\r\n", "https://10.0.0.1/x", 308},
		{"GET /x HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n", "https://[2001:db8::1]:8443/x", 301},
		// Absolute form: its authority wins over Host (RFC 9112, 3.2.2).
		{"GET http://other.example/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n", "https://other.example/p?q", 301},
		{"GET http://other.example HTTP/1.1\r\nHost: example.com\r\n\r\n", "https://other.example/", 301},
		// Encoded CR LF stay encoded; raw bytes that have no place in a
		// header, '#' and '\' are encoded.
		{"GET /%0d%0aSet-Cookie:%20x HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/%0d%0aSet-Cookie:%20x", 301},
		{"GET /caf\xc3\xa9?q=\xc3\xa9#f HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/caf%C3%A9?q=%C3%A9%23f", 301},
		{"GET /a?b=\\x HTTP/1.1\r\nHost: h\r\n\r\n", "https://h/a?b=%5Cx", 301},
		// A path that looks like an authority stays a path of h.
		{"GET //evil.example/ HTTP/1.1\r\nHost: h\r\n\r\n", "https://h//evil.example/", 301},
	} {
		var out bytes.Buffer
		status, err := rd.answer(&out, strings.NewReader(tc.raw))
		if err != nil {
			t.Errorf("%q: %v", tc.raw, err)
			continue
		}
		resp, err := http.ReadResponse(bufio.NewReader(&out), nil)
		if err != nil {
			t.Fatalf("%q: unreadable answer: %v", tc.raw, err)
		}
		if status != tc.status || resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.want {
			t.Errorf("%q: %d %q, want %d %q", tc.raw, resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.want)
		}
		if u, err := url.Parse(resp.Header.Get("Location")); err != nil || u.Scheme != "https" {
			t.Errorf("%q: Location %q does not parse as https: %v", tc.raw, resp.Header.Get("Location"), err)
		}
	}
}

func TestRedirectHost(t *testing.T) {
	for host, want := range map[string]string{
		"a.example":              "a.example",
		"a.example:8443":         "a.example:8443",
		"a.example:80":           "a.example",
		"127.0.0.1:8443":         "127.0.0.1:8443",
		"[::1]":                  "[::1]",
		"[::1]:8443":             "[::1]:8443",
		"":                       "",
		"a b":                    "",
		"a.example:8443:1":       "",
		"[::1]x":                 "",
		"[127.0.0.1]":            "",
		"[::1":                   "",
		"a.example:-1":           "",
		"ex\u00e4mple.com":       "",
		"a%2eexample":            "",
		strings.Repeat("a", 256): "",
	} {
		got, ok := redirectHost(host, "8443")
		if got != want || ok != (want != "") {
			t.Errorf("redirectHost(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
}

func BenchmarkRedirectAnswer(b *testing.B) {
	rd := newRedirector("8443", 0, DefaultMaxHeaderBytes, quietLogger())
	raw := "GET /some/path?with=query HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
	b.ReportAllocs()
	for b.Loop() {
		if status, err := rd.answer(io.Discard, strings.NewReader(raw)); status != 301 || err != nil {
			b.Fatal(status, err)
		}
	}
}
