package totp

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseCode: whatever is typed into the code field, ParseCode never
// panics and returns either ErrMalformed or exactly six digits; and
// Validate never accepts what ParseCode refuses.
func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"123456", " 123 456 ", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "\x00123456", strings.Repeat("1", 40)} {
		f.Add(s)
	}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, s string) {
		code, err := ParseCode(s)
		if err != nil {
			if _, verr := Validate(rfcSecret, s, 0, now); verr == nil {
				t.Fatalf("Validate accepted %q, which ParseCode refuses", s)
			}
			return
		}
		if len(code) != Digits {
			t.Fatalf("%q → %q", s, code)
		}
		for i := 0; i < len(code); i++ {
			if code[i] < '0' || code[i] > '9' {
				t.Fatalf("%q → %q", s, code)
			}
		}
	})
}

// FuzzParseRecoveryCode: ParseRecoveryCode never panics, returns ten
// characters of the alphabet or an error, and is idempotent on its output.
func FuzzParseRecoveryCode(f *testing.F) {
	for _, s := range []string{"abcde-fghij", "ABCDE FGHIJ", "0l234-abcde", "abcde", "abcde-fghij-k", "", "\xff\xfe", strings.Repeat("-", 50)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := ParseRecoveryCode(s)
		if err != nil {
			return
		}
		if len(code) != RecoveryCodeLen || strings.Trim(code, recoveryAlphabet) != "" {
			t.Fatalf("%q → %q", s, code)
		}
		if again, err := ParseRecoveryCode(code); err != nil || again != code {
			t.Fatalf("not idempotent: %q → %q → %q, %v", s, code, again, err)
		}
	})
}
