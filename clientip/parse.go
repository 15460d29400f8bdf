package clientip

import (
	"net/netip"
	"strings"
)

// scanner yields the comma-separated elements of a header from the last one
// to the first: the last line first, each line from its end. It reads at most
// maxHeaderBytes, so a client padding the left of a header costs nothing
// unless the walk gets that far.
//
// With quotes set (Forwarded), a comma inside "..." does not separate. Quoted
// pairs (\") are not understood: no proxy writes them in an address or a
// scheme, and an element holding one is refused as malformed further on.
type scanner struct {
	lines  []string
	rest   string // unread left part of the current line
	budget int
	quotes bool
	broken bool
}

func newScanner(lines []string, quotes bool) *scanner {
	return &scanner{lines: lines, budget: maxHeaderBytes, quotes: quotes}
}

// next returns the next element from the right, without surrounding spaces,
// skipping empty ones. ok is false at the start of the header and when the
// rest cannot be read (over the byte budget, or an unclosed quote): either
// way the caller stops there.
func (s *scanner) next() (elem string, ok bool) {
	for !s.broken {
		if s.rest == "" {
			if len(s.lines) == 0 {
				return "", false
			}
			s.rest = s.lines[len(s.lines)-1]
			s.lines = s.lines[:len(s.lines)-1]
			continue
		}
		i, ok := s.lastComma()
		if !ok {
			s.broken = true
			return "", false
		}
		elem = s.rest[i+1:]
		s.rest = s.rest[:max(i, 0)]
		if elem = strings.Trim(elem, " \t"); elem != "" {
			return elem, true
		}
	}
	return "", false
}

// lastComma returns the index in s.rest of the comma that separates its last
// element, or -1 when all of s.rest is one element. Every byte read is
// charged to the budget.
func (s *scanner) lastComma() (int, bool) {
	inQuote := false
	for i := len(s.rest) - 1; i >= 0; i-- {
		if s.budget == 0 {
			return 0, false
		}
		s.budget--
		switch s.rest[i] {
		case '"':
			inQuote = s.quotes && !inQuote
		case ',':
			if !inQuote {
				return i, true
			}
		}
	}
	if inQuote {
		return 0, false
	}
	return -1, true
}

// xffHop reads one X-Forwarded-For entry.
func xffHop(elem string) (netip.Addr, bool) { return parseNode(elem) }

// forwardedHop reads the for= of one Forwarded element. An element without
// for=, or whose node is "unknown" or an obfuscated identifier ("_hidden"),
// names no address we could check, so it stops the walk.
func forwardedHop(elem string) (netip.Addr, bool) {
	p, ok := parseForwarded(elem)
	if !ok || !p.hasFor || p.forNode == "" || p.forNode[0] == '_' || strings.EqualFold(p.forNode, "unknown") {
		return netip.Addr{}, false
	}
	return parseNode(p.forNode)
}

// parseNode reads an address with an optional port: 192.0.2.1,
// 192.0.2.1:8080, 2001:db8::1, [2001:db8::1] or [2001:db8::1]:8080. A port
// may be RFC 7239's obfuscated form (_abc). Zoned addresses are refused: a
// zone names an interface of the machine that wrote it, not a host.
func parseNode(s string) (netip.Addr, bool) {
	var host string
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		host = s[1:end]
		if tail := s[end+1:]; tail != "" && (tail[0] != ':' || !validPort(tail[1:])) {
			return netip.Addr{}, false
		}
		if strings.IndexByte(host, ':') < 0 { // brackets hold IPv6 only
			return netip.Addr{}, false
		}
	case strings.Count(s, ":") == 1: // IPv4 with a port
		i := strings.IndexByte(s, ':')
		if !validPort(s[i+1:]) || strings.IndexByte(s[:i], '.') < 0 {
			return netip.Addr{}, false
		}
		host = s[:i]
	default: // IPv4, or IPv6 without brackets (and so without a port)
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return normalize(a), true
}

func validPort(p string) bool {
	if p == "" {
		return false
	}
	if p[0] == '_' {
		if len(p) == 1 {
			return false
		}
		for i := 1; i < len(p); i++ {
			c := p[i]
			if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
				return false
			}
		}
		return true
	}
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// forwardedElem holds the parameters of one Forwarded element that matter
// here.
type forwardedElem struct {
	forNode, proto   string
	hasFor, hasProto bool
}

// parseForwarded reads one element of an RFC 7239 Forwarded header: pairs
// name=value separated by ";", a value being a token or a quoted string.
// A repeated for= or proto= makes the element malformed (RFC 7239, 4).
func parseForwarded(elem string) (forwardedElem, bool) {
	var f forwardedElem
	for elem != "" {
		i, inQuote := 0, false
		for ; i < len(elem); i++ {
			if c := elem[i]; c == '"' {
				inQuote = !inQuote
			} else if c == ';' && !inQuote {
				break
			}
		}
		if inQuote {
			return f, false
		}
		pair := strings.Trim(elem[:i], " \t")
		elem = elem[min(i+1, len(elem)):]
		if pair == "" {
			continue
		}
		eq := strings.IndexByte(pair, '=')
		if eq <= 0 || !isToken(pair[:eq]) {
			return f, false
		}
		v, ok := forwardedValue(pair[eq+1:])
		if !ok {
			return f, false
		}
		switch strings.ToLower(pair[:eq]) {
		case "for":
			if f.hasFor {
				return f, false
			}
			f.forNode, f.hasFor = v, true
		case "proto":
			if f.hasProto {
				return f, false
			}
			f.proto, f.hasProto = v, true
		}
	}
	return f, true
}

// forwardedValue reads a token or a quoted string without quoted pairs.
// Tokens may also hold ':' '[' ']' because some proxies leave
// for=192.0.2.1:80 unquoted.
func forwardedValue(v string) (string, bool) {
	if strings.HasPrefix(v, `"`) {
		if len(v) < 2 || v[len(v)-1] != '"' {
			return "", false
		}
		inner := v[1 : len(v)-1]
		if strings.ContainsAny(inner, "\"\\") {
			return "", false
		}
		for i := 0; i < len(inner); i++ {
			if inner[i] < 0x20 || inner[i] == 0x7f {
				return "", false
			}
		}
		return inner, true
	}
	if v == "" {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isTchar(c) && c != ':' && c != '[' && c != ']' {
			return "", false
		}
	}
	return v, true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// isTchar reports whether c may appear in an RFC 9110 token.
func isTchar(c byte) bool {
	return isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
