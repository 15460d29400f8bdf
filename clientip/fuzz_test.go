package clientip

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP checks that no RemoteAddr or header makes ClientIP panic, and
// that the answer is always RemoteAddr's own address or one written in a
// forwarding header: it can never be made up.
func FuzzClientIP(f *testing.F) {
	f.Add("127.0.0.1:1", "6.6.6.6, 1.2.3.4", "", "")
	f.Add("127.0.0.1:1", "", "for=6.6.6.6, for=\"[2001:db8::1]:80\"", "https")
	f.Add("10.0.0.9:1", "1.2.3.4\n10.0.0.1", "", "")
	f.Add("[::1]:1", "fe80::1%eth0, ::ffff:1.2.3.4", `for=unknown`, "")
	f.Add("[::ffff:127.0.0.1]:80", "[2001:db8::7]:5555, 10.0.0.1:80", "", "http, https")
	f.Add("@", "1.2.3.4", "for=1.2.3.4", "")
	f.Add("127.0.0.1:1", "", `for="6.6.6.6, for=1.2.3.4;proto=https`, "")
	f.Add("127.0.0.1:1", strings.Repeat("10.0.0.1,", 1000), "", "")

	res := New([]netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("fd00::/8"),
	})
	f.Fuzz(func(t *testing.T, remote, xff, fwd, proto string) {
		r, _ := http.NewRequest("GET", "http://example.com/", nil)
		r.RemoteAddr = remote
		for _, l := range strings.Split(xff, "\n") {
			if xff != "" {
				r.Header.Add("X-Forwarded-For", l)
			}
		}
		if fwd != "" {
			r.Header.Add("Forwarded", fwd)
		}
		if proto != "" {
			r.Header.Add("X-Forwarded-Proto", proto)
		}
		got := res.ClientIP(r)
		res.IsHTTPS(r)
		Key(got)

		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("ClientIP = %v: zones and mapped addresses must be normalized", got)
		}
		if got == remoteAddr(remote) {
			return
		}
		if !mentions(xff+","+fwd, got) {
			t.Fatalf("ClientIP = %v: neither RemoteAddr %q nor in the headers %q / %q", got, remote, xff, fwd)
		}
	})
}

// mentions reports whether a appears in text as an address literal, with or
// without brackets or a port. It tokenizes independently of the code under
// test.
func mentions(text string, a netip.Addr) bool {
	tokens := strings.FieldsFunc(text, func(r rune) bool {
		return strings.ContainsRune(",;=\"[] \t\n", r)
	})
	for _, tok := range tokens {
		cands := []string{tok}
		if i := strings.IndexByte(tok, ':'); i > 0 {
			cands = append(cands, tok[:i])
		}
		for _, c := range cands {
			if b, err := netip.ParseAddr(c); err == nil && b.Unmap() == a {
				return true
			}
			if ap, err := netip.ParseAddrPort(c); err == nil && ap.Addr().Unmap() == a {
				return true
			}
		}
	}
	return false
}
