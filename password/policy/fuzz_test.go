package policy

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPolicyCheck gives the policy arbitrary passwords and user details:
// it must never panic, and must only ever refuse with a *Error.
func FuzzPolicyCheck(f *testing.F) {
	for _, s := range []struct{ pw, email, name string }{
		{"correct horse battery staple", "alice@example.com", "Alice Smith"},
		{"alice.smith.1990!", "alice.smith@example.com", "Alice Smith"},
		{"passwordpassword", "", ""},
		{"pässwörd-üñîçødé", "ü@ü", "Ünal"},
		{"\xff\xfe", "\xff@", "\x00"},
		{strings.Repeat("ab", 200), "@", "@@"},
		{"", "", ""},
	} {
		f.Add(s.pw, s.email, s.name)
	}
	p := Policy{MaxLength: 300, MaxBytes: 1200}
	f.Fuzz(func(t *testing.T, pw, email, name string) {
		err := p.Check(pw, email, name)
		if err == nil {
			if n := utf8.RuneCountInString(pw); n < 15 || n > 300 || !utf8.ValidString(pw) {
				t.Fatalf("accepted %q of %d characters", pw, n)
			}
			return
		}
		var pe *Error
		if !errors.As(err, &pe) || pe.Reason == "" {
			t.Fatalf("Check error %#v is not a *Error with a reason", err)
		}
	})
}
