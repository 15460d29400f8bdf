package clientip

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	var ps []netip.Prefix
	for _, s := range ss {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}

// request builds a request from remote with the given header lines; each
// header may repeat ("X-Forwarded-For", "a", "X-Forwarded-For", "b").
func request(remote string, kv ...string) *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

func TestClientIP(t *testing.T) {
	loop := New(prefixes(t, "127.0.0.1/32"))
	chain := New(prefixes(t, "127.0.0.1/32", "10.0.0.0/8", "2001:db8:ffff::/48"))
	huge := strings.Repeat("9.9.9.9, ", 2000) // ~18 KiB

	tests := []struct {
		name   string
		res    *Resolver
		remote string
		kv     []string
		want   string
	}{
		// No trusted proxies: headers are ignored, whatever they say.
		{"no proxies: spoofed XFF ignored", New(nil), "203.0.113.7:4000",
			[]string{"X-Forwarded-For", "6.6.6.6"}, "203.0.113.7"},
		{"no proxies: spoofed Forwarded ignored", New(nil), "203.0.113.7:4000",
			[]string{"Forwarded", "for=6.6.6.6"}, "203.0.113.7"},
		{"no proxies: X-Real-IP ignored", New(nil), "203.0.113.7:4000",
			[]string{"X-Real-IP", "6.6.6.6"}, "203.0.113.7"},
		{"nil resolver", nil, "203.0.113.7:4000",
			[]string{"X-Forwarded-For", "6.6.6.6"}, "203.0.113.7"},
		{"untrusted peer: XFF ignored", loop, "203.0.113.7:4000",
			[]string{"X-Forwarded-For", "6.6.6.6"}, "203.0.113.7"},
		{"trusted peer, X-Real-IP never read", loop, "127.0.0.1:1",
			[]string{"X-Real-IP", "6.6.6.6"}, "127.0.0.1"},

		// The attacker's leftmost entry is not believed.
		{"trusted proxy appends real client", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "6.6.6.6, 1.2.3.4"}, "1.2.3.4"},
		{"header lines are joined in order", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "6.6.6.6", "X-Forwarded-For", "1.2.3.4"}, "1.2.3.4"},
		{"no XFF behind proxy: the proxy", loop, "127.0.0.1:1", nil, "127.0.0.1"},
		{"blank XFF: the proxy", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", " "}, "127.0.0.1"},
		{"empty list elements skipped", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "1.2.3.4,, ,"}, "1.2.3.4"},

		// Chains of several trusted proxies.
		{"chain: skip trusted hops", chain, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "6.6.6.6, 1.2.3.4, 10.1.1.1, 10.2.2.2"}, "1.2.3.4"},
		{"chain: IPv6 trusted hop", chain, "[2001:db8:ffff::9]:443",
			[]string{"X-Forwarded-For", "1.2.3.4, 2001:db8:ffff::1"}, "1.2.3.4"},
		{"chain: all trusted, leftmost", chain, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "10.9.9.9, 10.1.1.1"}, "10.9.9.9"},
		{"chain: too many trusted hops stops at the last trusted", chain, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "1.2.3.4," + strings.Repeat(" 10.0.0.1,", 40) + " 10.0.0.2"}, "10.0.0.1"},

		// Malformed, oversized, zoned: stop at the last address we could trust.
		{"garbage entry", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "not-an-ip"}, "127.0.0.1"},
		{"garbage left of the client is never read", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "<script>, 1.2.3.4"}, "1.2.3.4"},
		{"garbage in a trusted chain", chain, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "1.2.3.4, bogus, 10.0.0.1"}, "10.0.0.1"},
		{"zoned entry", chain, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "1.2.3.4, fe80::1%eth0, 10.0.0.1"}, "10.0.0.1"},
		{"leading zeros refused", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "01.2.3.4"}, "127.0.0.1"},
		{"huge client prefix costs nothing", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", huge + "1.2.3.4"}, "1.2.3.4"},
		{"huge trusted chain stops at budget", chain, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "1.2.3.4, 10.0.0.1" + strings.Repeat("0", 9000)}, "127.0.0.1"},
		{"IPv4-mapped entry is unmapped", loop, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "::ffff:1.2.3.4"}, "1.2.3.4"},
		{"IPv4-mapped trusted hop is trusted", chain, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "1.2.3.4, ::ffff:10.0.0.1"}, "1.2.3.4"},
		{"entries with ports", chain, "127.0.0.1:1",
			[]string{"X-Forwarded-For", "[2001:db8::7]:5555, 10.0.0.1:80"}, "2001:db8::7"},

		// RemoteAddr forms.
		{"IPv4-mapped peer", New(nil), "[::ffff:192.0.2.9]:80", nil, "192.0.2.9"},
		{"zoned peer", New(nil), "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"bare peer", New(nil), "192.0.2.9", nil, "192.0.2.9"},
		{"bracketed bare peer", New(nil), "[2001:db8::1]", nil, "2001:db8::1"},
		{"IPv4-mapped trusted peer", loop, "[::ffff:127.0.0.1]:80",
			[]string{"X-Forwarded-For", "1.2.3.4"}, "1.2.3.4"},
		{"unparseable peer", loop, "@", []string{"X-Forwarded-For", "1.2.3.4"}, "invalid IP"},

		// RFC 7239 Forwarded.
		{"forwarded", loop, "127.0.0.1:1",
			[]string{"Forwarded", "for=6.6.6.6, for=1.2.3.4;proto=https"}, "1.2.3.4"},
		{"forwarded IPv6 quoted with port", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"forwarded case-insensitive name", loop, "127.0.0.1:1",
			[]string{"Forwarded", `For=1.2.3.4;By=127.0.0.1`}, "1.2.3.4"},
		{"forwarded chain", chain, "127.0.0.1:1",
			[]string{"Forwarded", `for=6.6.6.6, for=1.2.3.4, for="10.0.0.1:80";by=x`}, "1.2.3.4"},
		{"forwarded unknown stops", chain, "127.0.0.1:1",
			[]string{"Forwarded", `for=6.6.6.6, for=unknown, for=10.0.0.1`}, "10.0.0.1"},
		{"forwarded obfuscated stops", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for=6.6.6.6, for=_hidden`}, "127.0.0.1"},
		{"forwarded obfuscated port is fine", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for="1.2.3.4:_p1"`}, "1.2.3.4"},
		{"forwarded without for stops", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for=6.6.6.6, proto=https`}, "127.0.0.1"},
		{"forwarded duplicate for is malformed", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for=1.2.3.4;for=6.6.6.6`}, "127.0.0.1"},
		{"forwarded unclosed quote on the left cannot swallow the proxy's entry", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for="6.6.6.6, for=1.2.3.4`}, "1.2.3.4"},
		{"forwarded comma inside quotes", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for=1.2.3.4;x="a,b"`}, "1.2.3.4"},
		{"forwarded quoted pair refused", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for="1.2.3\.4"`}, "127.0.0.1"},
		{"forwarded zoned refused", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for="[fe80::1%25eth0]"`}, "127.0.0.1"},
		{"forwarded IPv4 in brackets refused", loop, "127.0.0.1:1",
			[]string{"Forwarded", `for="[1.2.3.4]"`}, "127.0.0.1"},

		// Which header wins: X-Forwarded-For, as the common proxies write it and
		// pass a client's Forwarded through.
		{"XFF wins over client-sent Forwarded", loop, "127.0.0.1:1",
			[]string{"Forwarded", "for=6.6.6.6", "X-Forwarded-For", "1.2.3.4"}, "1.2.3.4"},
		{"X-Forwarded-Proto alone turns Forwarded off", loop, "127.0.0.1:1",
			[]string{"Forwarded", "for=6.6.6.6", "X-Forwarded-Proto", "https"}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.res.ClientIP(request(tt.remote, tt.kv...))
			if got.String() != tt.want {
				t.Errorf("ClientIP = %v, want %v", got, tt.want)
			}
		})
	}
}

// The walk stops after maxHeaderBytes even when every hop it reads is
// trusted and well formed, and each check below fails if the bound is
// removed: the client at the far left would be found.
func TestClientIPBudget(t *testing.T) {
	res := New(prefixes(t, "127.0.0.1/32", "10.0.0.0/8"))
	pad := strings.Repeat(" ", 300)
	chain := func(hops int) string {
		return "1.2.3.4," + strings.Repeat(pad+"10.0.0.1,", hops) + " 10.0.0.2"
	}
	// 20 padded hops (~6 KiB) are read to the end.
	if got := res.ClientIP(request("127.0.0.1:1", "X-Forwarded-For", chain(20))); got.String() != "1.2.3.4" {
		t.Errorf("chain under the budget: got %v, want 1.2.3.4", got)
	}
	// 28 hops (~8.6 KiB, still under the hop cap) are not.
	if got := res.ClientIP(request("127.0.0.1:1", "X-Forwarded-For", chain(28))); got.String() != "10.0.0.1" {
		t.Errorf("chain over the budget: got %v, want the last trusted hop 10.0.0.1", got)
	}
	// The budget covers all header lines together.
	r := request("127.0.0.1:1", "X-Forwarded-For", "1.2.3.4")
	for range 28 {
		r.Header.Add("X-Forwarded-For", pad+"10.0.0.1")
	}
	if got := res.ClientIP(r); got.String() != "10.0.0.1" {
		t.Errorf("lines over the budget: got %v, want 10.0.0.1", got)
	}
}

func TestIsHTTPS(t *testing.T) {
	res := New(prefixes(t, "127.0.0.1/32"))
	tests := []struct {
		name   string
		res    *Resolver
		remote string
		tls    bool
		kv     []string
		want   bool
	}{
		{"TLS connection", New(nil), "203.0.113.7:1", true, nil, true},
		{"plain, no headers", res, "127.0.0.1:1", false, nil, false},
		{"untrusted peer's X-Forwarded-Proto ignored", res, "203.0.113.7:1", false,
			[]string{"X-Forwarded-Proto", "https"}, false},
		{"untrusted peer's Forwarded ignored", res, "203.0.113.7:1", false,
			[]string{"Forwarded", "proto=https"}, false},
		{"no trusted proxies", New(nil), "127.0.0.1:1", false,
			[]string{"X-Forwarded-Proto", "https"}, false},
		{"trusted X-Forwarded-Proto", res, "127.0.0.1:1", false,
			[]string{"X-Forwarded-Proto", "HTTPS"}, true},
		{"last X-Forwarded-Proto value wins", res, "127.0.0.1:1", false,
			[]string{"X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http"}, false},
		{"last value in a list", res, "127.0.0.1:1", false,
			[]string{"X-Forwarded-Proto", "http, https"}, true},
		{"trusted Forwarded", res, "127.0.0.1:1", false,
			[]string{"Forwarded", `for=1.2.3.4, for=5.6.7.8;proto="https"`}, true},
		{"only the last Forwarded element counts", res, "127.0.0.1:1", false,
			[]string{"Forwarded", `proto=https, for=5.6.7.8;proto=http`}, false},
		{"XFF present: client's Forwarded ignored", res, "127.0.0.1:1", false,
			[]string{"X-Forwarded-For", "1.2.3.4", "Forwarded", "proto=https"}, false},
		{"malformed Forwarded", res, "127.0.0.1:1", false,
			[]string{"Forwarded", `proto="https`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.remote, tt.kv...)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := tt.res.IsHTTPS(r); got != tt.want {
				t.Errorf("IsHTTPS = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	res := New(prefixes(t, "127.0.0.1/32"))
	var got netip.Addr
	var ok bool
	h := res.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = FromContext(r.Context())
	}))
	h.ServeHTTP(httptest.NewRecorder(), request("127.0.0.1:1", "X-Forwarded-For", "6.6.6.6, 1.2.3.4"))
	if !ok || got.String() != "1.2.3.4" {
		t.Errorf("FromContext = %v, %v; want 1.2.3.4, true", got, ok)
	}
	if _, ok := FromContext(context.Background()); ok {
		t.Error("FromContext without the middleware reports ok")
	}
}

func TestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		if got := Key(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("Key(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Key(netip.Addr{}); got != "" {
		t.Errorf("Key(zero) = %q", got)
	}
}

func TestNewNormalizesPrefixes(t *testing.T) {
	res := New([]netip.Prefix{
		netip.MustParsePrefix("::ffff:10.0.0.0/104"), // 10.0.0.0/8
		{},                                     // invalid: ignored
		netip.MustParsePrefix("192.0.2.77/24"), // host bits masked
	})
	for _, remote := range []string{"10.1.2.3:1", "192.0.2.1:1"} {
		if got := res.ClientIP(request(remote, "X-Forwarded-For", "1.2.3.4")); got.String() != "1.2.3.4" {
			t.Errorf("peer %s not trusted: got %v", remote, got)
		}
	}
}

func BenchmarkClientIP(b *testing.B) {
	res := New(prefixes(b, "127.0.0.1/32", "10.0.0.0/8"))
	r := request("127.0.0.1:1", "X-Forwarded-For", "6.6.6.6, 1.2.3.4, 10.0.0.1")
	for b.Loop() {
		res.ClientIP(r)
	}
}
