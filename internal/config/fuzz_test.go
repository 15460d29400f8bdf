package config

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1": 1, "16MiB": 16 << 20, "16 mib": 16 << 20, "16MB": 16e6, "1kb": 1000, "1KiB": 1024,
		"3GB": 3e9, "3gib": 3 << 30, "2TiB": 2 << 40, "7b": 7, " 42 ": 42,
		"9223372036854775807": math.MaxInt64, "8388607TiB": 8388607 << 40,
	}
	for in, want := range good {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MB", "-1", "+1", "1.5MB", "16M", "16 m", "1e6", "0x10", "16MiBs", "9223372036854775808", "8388608TiB", "16 MiB extra"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want error", in, got)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"16MiB", "16MB", "1", "abc", "9223372036854775807", "8388608TiB", " 5 kib", "-0", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseSize(%q) = %d: negative", s, n)
		}
		// A plain number must round-trip exactly.
		if plain := strings.TrimSpace(s); strings.Trim(plain, "0123456789") == "" {
			if want, _ := strconv.ParseInt(plain, 10, 64); want != n {
				t.Fatalf("parseSize(%q) = %d, want %d", s, n, want)
			}
		}
	})
}

func TestParseProxies(t *testing.T) {
	got, err := parseProxies(" 10.1.2.3/8 ,192.168.0.1, ::ffff:192.0.2.0/120, 2001:db8::1/32,10.0.0.0/8,::1,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.0.1/32", "192.0.2.0/24", "2001:db8::/32", "::1/128"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/99", "10.0.0.0/-1", "300.0.0.1", "10.0.0.0/8/8", "host", "fe80::1%eth0", "fe80::/64%eth0", "1.2.3", "10.0.0.0 /8"} {
		if _, err := parseProxies(bad); err == nil {
			t.Errorf("parseProxies(%q) accepted", bad)
		}
	}
}

func FuzzParseProxies(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.0.0.0/99", "::ffff:10.0.0.1", "fe80::1%eth0", "1.2.3.4, ::/0", ",,", "::ffff:0:0/95"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := parseProxies(s)
		if err != nil {
			return
		}
		seen := make(map[netip.Prefix]bool)
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("parseProxies(%q): %v not canonical", s, p)
			}
			if p.Addr().Zone() != "" {
				t.Fatalf("parseProxies(%q): %v has a zone", s, p)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				t.Fatalf("parseProxies(%q): %v is IPv4-mapped", s, p)
			}
			if seen[p] {
				t.Fatalf("parseProxies(%q): duplicate %v", s, p)
			}
			seen[p] = true
			// What the parser returns must parse back to itself.
			again, err := parseProxies(p.String())
			if err != nil || len(again) != 1 || again[0] != p {
				t.Fatalf("parseProxies(%q): %v does not round-trip: %v %v", s, p, again, err)
			}
		}
	})
}

// FuzzParseBaseURL checks that whatever BASE_URL parses to is a bare origin
// that parses back to itself: links are built by appending a path to it.
func FuzzParseBaseURL(f *testing.F) {
	for _, s := range []string{"https://bulwark.example.com", "HTTP://LOCALHOST:8080/", "https://[::1]:443", "https://u@h",
		"https://h/p", "https://h?", "https://h:", "https://h:0", "javascript:alert(1)", "https://[fe80::1%25eth0]", "//h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := parseBaseURL(s)
		if !ok {
			return
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			t.Fatalf("parseBaseURL(%q) = %q: not http(s)", s, u)
		}
		if strings.ContainsAny(u[len("https://"):], "/?#@ ") || u != strings.ToLower(u) {
			t.Fatalf("parseBaseURL(%q) = %q: not a bare lower-case origin", s, u)
		}
		if again, ok := parseBaseURL(u); !ok || again != u {
			t.Fatalf("parseBaseURL(%q) = %q does not round-trip: %q %v", s, u, again, ok)
		}
	})
}

func BenchmarkLoad(b *testing.B) {
	getenv := env("SECRET_KEY", strongKey, "TRUSTED_PROXIES", "10.0.0.0/8,192.168.0.0/16")
	for b.Loop() {
		if _, err := Load(getenv); err != nil {
			b.Fatal(err)
		}
	}
}
