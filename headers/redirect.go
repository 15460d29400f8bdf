package headers

// The https redirect. Two places build one from a plain-HTTP request:
// Headers.Handler with ForceHTTPS (usually behind a proxy) and a listener
// that answers plain HTTP next to HTTPS (internal/server in bulwark). They
// differ only in which port survives, so that is the caller's choice;
// everything the client controls is checked here, once.
//
// The Host header is the client's, so it is validated before it goes into
// the Location: a bad one must give a 400, never "https:///…", a URL with
// user info ("a@evil"), a scheme-relative URL that points elsewhere, or a
// header split. The host in the URL is still the one the client sent: a
// client redirected to a name it chose itself gains nothing.

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

const (
	// maxNameLen is the longest DNS name (RFC 1035, 2.3.4, less the root's
	// length byte and final dot).
	maxNameLen = 253
	// maxHostLen bounds a whole Host value: a name, a colon and 5 digits.
	maxHostLen = maxNameLen + 6
)

// HTTPSRedirectTarget returns the status (301 for GET/HEAD, 308 otherwise)
// and the https URL that r should be redirected to, or ok=false, with
// status 400 and no location, when r's Host or target cannot be put safely
// into a Location. Headers uses it for ForceHTTPS; a listener that answers
// plain HTTP itself can use it with its own port rule.
//
// 308 rather than 302/303 for other methods makes the browser repeat the
// method and body instead of turning a POST into a GET.
//
// keepPort decides whether the port of r.Host stays in the URL; it is called
// only with a validated port in canonical decimal ("08443" becomes "8443"),
// 1 to 65535. A nil keepPort drops every port.
//
// The path and query are copied with the bytes that have no place in a
// header or would change how a browser reads the URL percent-encoded:
// anything outside visible ASCII, '#' and '\'. "OPTIONS *" and the absolute
// form without a path ("GET http://host HTTP/1.1") go to "/"; CONNECT, which
// names no resource, and targets that are not paths are refused.
//
// The location holds only bytes 0x21-0x7E, so it can be written into a
// header, or straight onto the wire, without further checks.
func HTTPSRedirectTarget(r *http.Request, keepPort func(port string) bool) (status int, location string, ok bool) {
	if r.Method == http.MethodConnect || r.URL == nil || r.URL.Opaque != "" {
		return http.StatusBadRequest, "", false
	}
	host, ok := redirectHost(r.Host, keepPort)
	if !ok {
		return http.StatusBadRequest, "", false
	}
	// The escaped path, never r.RequestURI: for a request line in absolute
	// form ("GET http://other/ HTTP/1.1") RequestURI holds a whole URL.
	path := r.URL.EscapedPath()
	switch {
	case path == "" || path == "*":
		path = "/"
	case path[0] != '/':
		// "https://host" + "evil" would change the host.
		return http.StatusBadRequest, "", false
	}
	var b strings.Builder
	b.Grow(len("https://") + len(host) + len(path) + 1 + len(r.URL.RawQuery))
	b.WriteString("https://")
	b.WriteString(host)
	writeEscaped(&b, path)
	if r.URL.RawQuery != "" {
		b.WriteByte('?')
		writeEscaped(&b, r.URL.RawQuery)
	}
	status = http.StatusPermanentRedirect
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		status = http.StatusMovedPermanently
	}
	return status, b.String(), true
}

// writeEscaped writes s to b with the bytes percent-encoded that have no
// place in a header or would change how a browser reads the URL: anything
// outside visible ASCII, '#' (the query is copied raw and would otherwise
// start a fragment) and '\' (which browsers treat as '/'). '%' is left
// alone: s is already encoded and must not be encoded twice.
func writeEscaped(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '#' || c == '\\' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
}

// redirectHost checks a Host value (host or host:port) and returns the host
// for the https URL. It accepts a DNS name or IPv4 address (see
// validHostName) or a bracketed IPv6 address without a zone, with an
// optional port of 1 to 65535. "host:" has an empty port (RFC 3986), which
// is the same as none.
func redirectHost(host string, keepPort func(string) bool) (string, bool) {
	if host == "" || len(host) > maxHostLen {
		return "", false
	}
	var name, port string
	if host[0] == '[' {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", false
		}
		ip, err := netip.ParseAddr(host[1:end])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", false
		}
		name = host[:end+1]
		if rest := host[end+1:]; rest != "" {
			if rest[0] != ':' {
				return "", false
			}
			port = rest[1:]
		}
	} else {
		name, port, _ = strings.Cut(host, ":")
		if !validHostName(name) {
			return "", false
		}
	}
	if port == "" {
		return name, true
	}
	n, ok := parsePort(port)
	if !ok {
		return "", false
	}
	if keepPort != nil {
		if p := strconv.Itoa(n); keepPort(p) {
			return name + ":" + p, true
		}
	}
	return name, true
}

// validHostName reports whether name is a plausible DNS name or IPv4
// address: 1 to 253 letters, digits, '.', '-' and '_' (some internal names
// use it), not starting with '.' or '-'. Browsers send international names
// as punycode.
func validHostName(name string) bool {
	if name == "" || len(name) > maxNameLen || name[0] == '.' || name[0] == '-' {
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

// parsePort parses 1 to 5 decimal digits as a port of 1 to 65535. Port 0
// cannot be connected to, so a URL naming it is refused.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, 1 <= n && n <= 65535
}

// redirectToHTTPS answers r with a redirect to the same host and path over
// https (see HTTPSRedirectTarget for what is checked). Behind a proxy the
// public https port is unknown, so the port the client named is kept unless
// it is 80, the plain-HTTP port, where https would fail.
func redirectToHTTPS(w http.ResponseWriter, r *http.Request) {
	status, location, ok := HTTPSRedirectTarget(r, func(port string) bool { return port != "80" })
	if !ok {
		http.Error(w, "Bad Request: invalid Host header or request target", status)
		return
	}
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}
