package policy

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPolicyCheck(t *testing.T) {
	const (
		tooShort = "Use at least 15 characters."
		common   = "This password is too common or easy to guess; a few unrelated words work well."
		personal = "Don't use your name or email in your password."
	)
	related := []string{"alice.smith+web@example.com", "Alice Smith"}
	passphrase := "copper kettle whistles at dawn near the quiet harbour"
	cases := []struct {
		name, pw string
		policy   Policy
		want     string // "" means accepted
	}{
		{"passphrase", "correct horse battery staple", Policy{}, ""},
		{"random 15", "vT7#qLp9@xZ2mWc", Policy{}, ""},
		{"14 characters", "vT7#qLp9@xZ2mW", Policy{}, tooShort},
		{"empty", "", Policy{}, tooShort},
		// NIST counts code points, not bytes: 14 three-byte runes are 42
		// bytes but still too short; 16 accented runes are long enough.
		{"14 CJK runes", "雪山飛狐射鵰英雄傳神鵰俠侶天", Policy{}, tooShort},
		{"16 accented runes", "pässwörd-üñîçødé", Policy{}, ""},
		// no composition rules: lowercase words and spaces only are fine
		{"lowercase only", "copper kettle whistles", Policy{}, ""},

		// common, repeated, sequential, keyboard patterns
		{"common doubled", "passwordpassword", Policy{}, common},
		{"repeat", strings.Repeat("a", 20), Policy{}, common},
		{"keyboard", "qwertyuiopasdfgh", Policy{}, common},
		{"sequence", "abcdefghijklmnopqrstuvwxyz", Policy{}, common},
		{"common plus digits", "iloveyou12345678", Policy{}, common},
		{"long repeat", strings.Repeat("password", 32), Policy{}, common},

		// the user's own details
		{"email local part", "alice.smith.1990!xyz", Policy{}, personal},
		{"surname", "SmithFamilyRocks2024", Policy{}, personal},
		{"first name reversed case", "ALICE-in-the-garden-2024", Policy{}, personal},
		{"whole email", "alice.smith+web@example.com", Policy{}, personal},
		{"unrelated", passphrase, Policy{}, ""},

		// maximum length
		{"256 characters", longStrong(256), Policy{}, ""},
		{"257 characters", longStrong(257), Policy{}, "Use at most 256 characters."},
		{"max below 64 raised", longStrong(64), Policy{MaxLength: 20}, ""},
		{"max raised to 64", longStrong(65), Policy{MaxLength: 20}, "Use at most 64 characters."},
		{"bytes", strings.Repeat("雪山飛狐射", 20), Policy{MaxLength: 1000, MaxBytes: 200},
			"Use a shorter password: at most 200 characters, fewer if it has accents, emoji or non-Latin letters."},
		{"min length 8", "vT7#qLp9@x", Policy{MinLength: 8}, ""},
		{"invalid utf-8", "correct horse \xff battery staple", Policy{}, "Your password contains characters that could not be read; type it again."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.policy.Check(c.pw, related...)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v; want accepted", c.pw, err)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %v; want *Error %q", c.pw, err, c.want)
			}
			if pe.Reason != c.want || err.Error() != "policy: "+c.want {
				t.Errorf("Check(%q) reason = %q; want %q", c.pw, pe.Reason, c.want)
			}
			if len(c.pw) >= 4 && strings.Contains(pe.Reason, c.pw) {
				t.Error("reason contains the password")
			}
		})
	}
}

// longStrong returns n characters of varied words that zxcvbn scores well.
func longStrong(n int) string {
	s := strings.Repeat("copper kettle whistles at dawn near the quiet harbour; ", 10)
	return s[:n]
}

// Short names are not matched inside other words ("ann" in "planning",
// "anna" in "bananas"), but are where they stand alone.
func TestPolicyRelatedNoFalsePositives(t *testing.T) {
	p := Policy{}
	for _, pw := range []string{"planning the river lamp", "bananas copper kettle dawn"} {
		if err := p.Check(pw, "Anna Li", "ann@example.org"); err != nil {
			t.Errorf("Check(%q) = %v; want accepted", pw, err)
		}
	}
	for _, pw := range []string{"anna li river lamp copper", "ann2024-river-lamp-copper", "copper-lamp-river-anna"} {
		if err := p.Check(pw, "Anna Li", "ann@example.org"); err == nil {
			t.Errorf("Check(%q) accepted; it contains the user's name", pw)
		}
	}
}

func TestContainsTerm(t *testing.T) {
	for _, c := range []struct {
		pw, term string
		want     bool
	}{
		{"planning", "ann", false},
		{"ann", "ann", true},
		{"x-ann-x", "ann", true},
		{"ann2024", "ann", true},
		{"bananas", "anna", false},
		{"planning ann", "ann", true},
		{"smithfamily", "smith", true},
		{"éanné", "ann", false},
		{"", "ann", false},
	} {
		if got := containsTerm(c.pw, c.term); got != c.want {
			t.Errorf("containsTerm(%q, %q) = %v; want %v", c.pw, c.term, got, c.want)
		}
	}
}

func TestRelatedTerms(t *testing.T) {
	got := relatedTerms([]string{" Alice.Smith+web@Example.com ", "Alice Smith", "", "Li", "Bob Li"})
	want := []string{"alice.smith+web@example.com", "alice.smith+web", "alice.smith", "alice", "smith", "alice smith", "bob li", "bob"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("relatedTerms = %q; want %q", got, want)
	}
	many := make([]string, 100)
	for i := range many {
		many[i] = strings.Repeat("x", 1000) + string(rune('a'+i%26))
	}
	for _, term := range relatedTerms(many) {
		if utf8.RuneCountInString(term) > relatedRunes {
			t.Errorf("term of %d runes; want at most %d", utf8.RuneCountInString(term), relatedRunes)
		}
	}
}

// zxcvbn's cost grows steeply with length, so it only ever sees the first
// strengthRunes code points.
func TestStrengthSampleIsCapped(t *testing.T) {
	s := strings.Repeat("é", 1000)
	if got := utf8.RuneCountInString(truncateRunes(s, strengthRunes)); got != strengthRunes {
		t.Errorf("truncateRunes kept %d runes; want %d", got, strengthRunes)
	}
	if got := truncateRunes("short", strengthRunes); got != "short" {
		t.Errorf("truncateRunes(short) = %q", got)
	}
	// A weak long password is still judged by its prefix.
	p := Policy{MaxLength: 4000, MaxBytes: 4000}
	if err := p.Check(strings.Repeat("password", 500)); err == nil {
		t.Error("4000-character repetition accepted")
	}
}
