package web

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
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
	for _, s := range []string{"a@example.com", " A@Example.COM ", "a@b", "\"a b\"@example.com", "<a@example.com>", "x", "",
		"\"a\x00b\"@example.com", "a\xff@example.com", "a\u0085b@example.com", "\"a\r\nBcc: x@y.z\"@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Email("email", in)
		if err != nil {
			return
		}
		if got != strings.ToLower(got) || got != strings.TrimSpace(got) || len(got) > 254 || !strings.Contains(got, "@") ||
			!utf8.ValidString(got) || strings.ContainsFunc(got, unicode.IsControl) {
			t.Fatalf("Email(%q) = %q", in, got)
		}
	})
}

func FuzzSearchText(f *testing.F) {
	for _, s := range []string{"bench", "  a b  ", "%_\\", "\x00", "\xff", "\u200b", strings.Repeat("é", 101)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := SearchText("q", in, 100)
		if err != nil {
			return
		}
		if !utf8.ValidString(got) || strings.ContainsFunc(got, unicode.IsControl) || utf8.RuneCountInString(got) > 100 || got != strings.TrimSpace(got) {
			t.Fatalf("SearchText(%q) = %q", in, got)
		}
	})
}
