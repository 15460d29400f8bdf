package web

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzLocalPath: whatever "next" holds, the redirect stays on this site.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/account", "/search?q=a", "//evil.example", "/\\evil", "https://evil.example",
		"javascript:alert(1)", "/\t/evil", "/%2F/evil", "", "/", "\x00", "/a\r\nLocation: x", "/.//evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := LocalPath(next)
		if got == "" {
			return
		}
		if got != next || got[0] != '/' || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") {
			t.Fatalf("LocalPath(%q) = %q", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" {
			t.Fatalf("LocalPath(%q) = %q reaches host %q", next, got, u.Host)
		}
		for _, c := range got {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("LocalPath(%q) kept a control character", next)
			}
		}
	})
}

// FuzzEmail: an accepted address is lower case, trimmed and short.
func FuzzEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", " A@Example.COM ", "a@b", "\"a b\"@example.com", "<a@example.com>", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Email("email", in)
		if err != nil {
			return
		}
		if got != strings.ToLower(got) || got != strings.TrimSpace(got) || len(got) > 254 || !strings.Contains(got, "@") {
			t.Fatalf("Email(%q) = %q", in, got)
		}
	})
}
