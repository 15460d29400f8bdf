package clientip

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Bounds on the forwarding chain, so a crafted header costs little.
const (
	maxHeaderBytes = 8 << 10 // bytes of forwarding header read per request
	maxHops        = 32      // entries examined per request
)

// Resolver answers which client sent a request. Its zero value and a nil
// *Resolver trust no proxy. It is safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that believes forwarding headers only from peers
// inside the trusted prefixes. With none, the client is always RemoteAddr.
// Invalid prefixes are ignored; IPv4-mapped IPv6 prefixes
// (::ffff:10.0.0.0/104) are read as their IPv4 form.
func New(trusted []netip.Prefix) *Resolver {
	r := &Resolver{}
	for _, p := range trusted {
		if !p.IsValid() {
			continue
		}
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				continue // mixes IPv4 with other IPv6 space: meaningless here
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r
}

func (r *Resolver) trusts(a netip.Addr) bool {
	if r == nil {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client that sent req. It never fails:
// when no forwarding header can be believed it returns the address of
// RemoteAddr, with IPv4-mapped IPv6 unmapped and any zone removed. It returns
// the zero Addr only when RemoteAddr itself is not an IP address (a Unix
// socket, for example).
func (r *Resolver) ClientIP(req *http.Request) netip.Addr {
	peer := remoteAddr(req.RemoteAddr)
	if !peer.IsValid() || !r.trusts(peer) {
		return peer
	}
	h := req.Header
	if hasValue(h.Values("X-Forwarded-For")) || hasValue(h.Values("X-Forwarded-Proto")) {
		return r.walk(peer, newScanner(h.Values("X-Forwarded-For"), false), xffHop)
	}
	return r.walk(peer, newScanner(h.Values("Forwarded"), true), forwardedHop)
}

// walk follows the chain from the right. last is the address the walk could
// trust so far: it starts as the peer and is what is returned when an entry
// cannot be read.
func (r *Resolver) walk(last netip.Addr, s *scanner, hop func(string) (netip.Addr, bool)) netip.Addr {
	for range maxHops {
		elem, more := s.next()
		if !more {
			return last // the chain ended on trusted hops (or was empty)
		}
		a, ok := hop(elem)
		if !ok {
			return last
		}
		if !r.trusts(a) {
			return a
		}
		last = a
	}
	return last
}

// IsHTTPS reports whether the client used HTTPS: the connection is TLS, or
// the peer is a trusted proxy whose X-Forwarded-Proto (its last value, which
// the nearest proxy wrote) or, failing that header family, whose last
// Forwarded element's proto= says https.
func (r *Resolver) IsHTTPS(req *http.Request) bool {
	if req.TLS != nil {
		return true
	}
	if !r.trusts(remoteAddr(req.RemoteAddr)) {
		return false
	}
	h := req.Header
	if hasValue(h.Values("X-Forwarded-For")) || hasValue(h.Values("X-Forwarded-Proto")) {
		elem, ok := newScanner(h.Values("X-Forwarded-Proto"), false).next()
		return ok && strings.EqualFold(elem, "https")
	}
	elem, ok := newScanner(h.Values("Forwarded"), true).next()
	if !ok {
		return false
	}
	p, ok := parseForwarded(elem)
	return ok && strings.EqualFold(p.proto, "https")
}

type ctxKey struct{}

// Handler stores the client address of each request in its context, for
// [FromContext].
func (r *Resolver) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := context.WithValue(req.Context(), ctxKey{}, r.ClientIP(req))
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

// FromContext returns the client address that [Resolver.Handler] stored.
// ok is false when the middleware did not run or found no address.
func FromContext(ctx context.Context) (addr netip.Addr, ok bool) {
	a, _ := ctx.Value(ctxKey{}).(netip.Addr)
	return a, a.IsValid()
}

// Key returns the rate-limit key of an address: an IPv4 address as it is, an
// IPv6 address as its /64 ("2001:db8:1:2::/64"), because one subscriber is
// usually given a whole /64 and can use any address in it. It returns "" for
// the zero Addr.
func Key(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// normalize unmaps IPv4-mapped IPv6 so that ::ffff:192.0.2.1 and 192.0.2.1
// are one client (and one trust decision), and drops zones, which name a
// local interface and not a host.
func normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// remoteAddr reads http.Request.RemoteAddr, which is "host:port" from
// net/http but may be a bare host from other servers or tests.
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr())
	}
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		host = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return normalize(a)
}

// hasValue reports whether a header has a line that is not blank.
func hasValue(lines []string) bool {
	for _, l := range lines {
		if strings.Trim(l, " \t") != "" {
			return true
		}
	}
	return false
}
