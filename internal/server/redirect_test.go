package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
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

// Requests the redirector cannot use get 400. What
// headers.HTTPSRedirectTarget refuses (Host injection, zones, bad ports,
// CONNECT) is tested in package headers; these are the cases decided on the
// wire, plus one refusal by HTTPSRedirectTarget.
func TestRedirectRefusesBadRequests(t *testing.T) {
	s, _, _ := startTLS(t, Options{})
	addr := s.Addr().String()
	for _, raw := range []string{
		"GET / HTTP/1.0\r\n\r\n",                       // no host at all
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // two hosts
		"GET / HTTP/1.1\r\nHost: good.com\r\nX: " + strings.Repeat("a", 70<<10) + "\r\n\r\n", // too big
		"GET / HTTP/1.1\r\nHost: evil.com@good.com\r\n\r\n",                                  // refused by HTTPSRedirectTarget
		"not http at all\r\n\r\n",
	} {
		if resp := rawExchange(t, addr, raw); resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("%.60q: status %d, Location %q; want 400 and none", raw, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// The port stays only when it is the HTTPS port, and never when that is 443.
func TestRedirectPortRule(t *testing.T) {
	for _, tc := range []struct {
		httpsPort, host, want string
	}{
		{"8443", "h:8443", "https://h:8443/x"},
		{"8443", "h:08443", "https://h:8443/x"},
		{"8443", "[::1]:8443", "https://[::1]:8443/x"},
		{"8443", "h:80", "https://h/x"},
		{"8443", "h:443", "https://h/x"},
		{"8443", "h", "https://h/x"},
		{"443", "h:443", "https://h/x"},
		{"443", "h:8443", "https://h/x"},
	} {
		rd := newRedirector(tc.httpsPort, 0, DefaultMaxHeaderBytes, quietLogger())
		var out bytes.Buffer
		raw := "PUT /x HTTP/1.1\r\nHost: " + tc.host + "\r\nContent-Length: 0\r\n\r\n"
		if _, err := rd.answer(&out, strings.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(&out), nil)
		if err != nil {
			t.Fatalf("%q: unreadable answer: %v", raw, err)
		}
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != tc.want {
			t.Errorf("HTTPS port %s, Host %s: %d %q, want 308 %q", tc.httpsPort, tc.host, resp.StatusCode, resp.Header.Get("Location"), tc.want)
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
