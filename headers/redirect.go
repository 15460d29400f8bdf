package headers

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// maxHostLen bounds the Host we copy into a Location: a 253-byte DNS name,
// a colon and a port.
const maxHostLen = 253 + 6

// redirectToHTTPS answers r with a redirect to the same host and path over
// https: 301 for GET and HEAD, 308 for other methods so that the browser
// repeats the method and body instead of turning a POST into a GET.
//
// The Host header is the client's, so it is checked before it goes into the
// Location: an empty, malformed or control-character host gets a 400, never
// "https:///…" or a scheme-relative URL pointing elsewhere.
func redirectToHTTPS(w http.ResponseWriter, r *http.Request) {
	target, ok := httpsURL(r)
	if !ok {
		http.Error(w, "Bad Request: invalid Host header", http.StatusBadRequest)
		return
	}
	code := http.StatusPermanentRedirect
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		code = http.StatusMovedPermanently
	}
	w.Header().Set("Location", target)
	w.WriteHeader(code)
}

// httpsURL returns the https URL for r, or false if r's Host or query
// cannot be put in a Location header safely.
func httpsURL(r *http.Request) (string, bool) {
	host, ok := redirectHost(r.Host)
	if !ok {
		return "", false
	}
	// The escaped path, not r.RequestURI: for a request line in absolute
	// form ("GET http://other/ HTTP/1.1") RequestURI holds a whole URL.
	path := r.URL.EscapedPath()
	if !strings.HasPrefix(path, "/") {
		path = "/" // "OPTIONS *" and other non-path targets
	}
	q := r.URL.RawQuery
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return "", false
		}
	}
	target := "https://" + host + path
	if q != "" {
		target += "?" + q
	}
	return target, true
}

// redirectHost checks a Host header value (host or host:port) and returns
// the host to redirect to. It accepts a DNS name or IPv4 address made of
// letters, digits, '.', '-' and '_', or a bracketed IPv6 address without a
// zone, with an optional numeric port. Port 80 is dropped: it is the plain
// HTTP port, and https on it would fail.
func redirectHost(host string) (string, bool) {
	if host == "" || len(host) > maxHostLen {
		return "", false
	}
	var name, port string
	hasPort := false
	if host[0] == '[' {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", false
		}
		addr, err := netip.ParseAddr(host[1:end])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", false
		}
		name = host[:end+1]
		switch rest := host[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port, hasPort = rest[1:], true
		default:
			return "", false
		}
	} else {
		name = host
		if i := strings.IndexByte(host, ':'); i >= 0 {
			name, port, hasPort = host[:i], host[i+1:], true
		}
		if !validHostName(name) {
			return "", false
		}
	}
	if hasPort && port != "" {
		if len(port) > 5 || strings.TrimLeft(port, "0123456789") != "" {
			return "", false
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", false
		}
		if n == 80 {
			return name, true
		}
		return name + ":" + strconv.Itoa(n), true
	}
	return name, true // "host:" has an empty port (RFC 3986): no port
}

// validHostName reports whether name is a plausible DNS name or IPv4
// address: 1 to 253 of letters, digits, '.', '-' and '_', not starting with
// '.' or '-'.
func validHostName(name string) bool {
	if name == "" || len(name) > 253 || name[0] == '.' || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
