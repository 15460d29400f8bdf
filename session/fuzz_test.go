package session

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzCleanUserAgent checks that any User-Agent a client sends is kept as
// text every index can store (PostgreSQL refuses invalid UTF-8 and NUL) and
// that a page can show: valid UTF-8, no control characters, bounded.
func FuzzCleanUserAgent(f *testing.F) {
	f.Add("Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0")
	f.Add("")
	f.Add("bad\xff\xfe utf-8")
	f.Add("nul\x00 and\r\nnewline\x1b[31m")
	f.Add(strings.Repeat("é", 200))            // 400 bytes: must be cut between runes
	f.Add(strings.Repeat("a", 255) + "€")      // a 3-byte rune across the bound
	f.Add(strings.Repeat("\xff", 300))         // replacement runes are 3 bytes each
	f.Add("\u202eevil right-to-left override") // kept: it is text, escaped on display
	f.Fuzz(func(t *testing.T, ua string) {
		got := CleanUserAgent(ua)
		if !utf8.ValidString(got) {
			t.Fatalf("CleanUserAgent(%q) = %q: invalid UTF-8", ua, got)
		}
		if len(got) > MaxUserAgent {
			t.Fatalf("CleanUserAgent(%q) has %d bytes, want at most %d", ua, len(got), MaxUserAgent)
		}
		if strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("CleanUserAgent(%q) = %q keeps a control character", ua, got)
		}
		// A short, clean value is kept as it is.
		if len(ua) <= MaxUserAgent && utf8.ValidString(ua) && strings.IndexFunc(ua, unicode.IsControl) < 0 && got != ua {
			t.Fatalf("CleanUserAgent(%q) = %q, want it unchanged", ua, got)
		}
	})
}
