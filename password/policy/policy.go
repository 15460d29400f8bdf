package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// Policy decides whether a new password may be chosen, following NIST SP
// 800-63B-4: a minimum length, a generous maximum, no composition rules
// (no "one digit, one symbol"), and a refusal of passwords that are common,
// easy to guess, or built from the user's own name or email.
//
// Length is counted in Unicode code points, as NIST asks. The password is
// not normalised (NFC/NFKC): it is checked and hashed as the exact UTF-8
// bytes received, which is what Werkzeug did, so imported hashes keep
// verifying. Browsers send what the user typed, normally already NFC.
//
// The zero Policy is ready to use.
type Policy struct {
	// MinLength is the fewest characters accepted. Zero means 15, NIST's
	// minimum when a password is the only factor (8 is its floor with MFA).
	MinLength int

	// MaxLength is the most characters accepted. Zero means 256; values
	// below 64 (or below MinLength) are raised, since NIST asks that at
	// least 64 characters always be accepted.
	MaxLength int

	// MaxBytes is the most bytes accepted; keep it equal to the Hasher's
	// password.Options.MaxBytes so that every password the policy accepts
	// can be hashed. Zero means 1024, the Hasher's default. The default
	// MaxLength of 256 characters never exceeds it (a code point is at most
	// 4 bytes).
	MaxBytes int
}

// Error says why Policy.Check refused a password. Reason is a complete
// sentence, safe to show to the user as is; it never contains the password.
// Error() puts the package name before it, for logs; show users Reason.
type Error struct {
	Reason string
}

// Error returns the reason with the package prefix every error here has.
func (e *Error) Error() string { return "policy: " + e.Reason }

// Only the first strengthRunes code points are given to zxcvbn: its
// matching grows worse than quadratically with length (about 15 ms for 100
// characters, 0.5 s for 400 and 4 s for 800 on one core), so a long
// password would be a cheap way to tie up the server. The first 100
// characters of a password are plenty to judge it: a passphrase that long
// scores the maximum unless it repeats itself, which the prefix shows too.
const strengthRunes = 100

// At most maxRelated related inputs of at most relatedRunes each are used.
const (
	maxRelated   = 16
	relatedRunes = 254
)

// minScore is the lowest zxcvbn score accepted: 3 means an estimate of at
// least 10^8 guesses, zxcvbn's "safely unguessable" behind a slow hash and
// far beyond what sign-in rate limits allow an online attacker.
const minScore = 3

// Check returns nil if password may be chosen, or a *Error whose
// Reason tells the user what to do. related are the user's own details
// (email, name, ...): a password containing them is refused.
func (p Policy) Check(password string, related ...string) error {
	minLen, maxLen, maxBytes := p.bounds()
	if !utf8.ValidString(password) {
		return &Error{"Your password contains characters that could not be read; type it again."}
	}
	n := utf8.RuneCountInString(password)
	if n < minLen {
		return &Error{fmt.Sprintf("Use at least %d characters.", minLen)}
	}
	if n > maxLen {
		return &Error{fmt.Sprintf("Use at most %d characters.", maxLen)}
	}
	if len(password) > maxBytes {
		return &Error{fmt.Sprintf("Use a shorter password: at most %d characters, fewer if it has accents, emoji or non-Latin letters.", maxBytes)}
	}

	terms := relatedTerms(related)
	lower := strings.ToLower(password)
	for _, t := range terms {
		if containsTerm(lower, t) {
			return personalError()
		}
	}

	r := zxcvbn.PasswordStrength(truncateRunes(password, strengthRunes), terms)
	if r.Score >= minScore {
		return nil
	}
	for _, m := range r.Sequence {
		if m.DictionaryName == "user_inputs" {
			return personalError()
		}
	}
	return &Error{"This password is too common or easy to guess; a few unrelated words work well."}
}

func personalError() error {
	return &Error{"Don't use your name or email in your password."}
}

func (p Policy) bounds() (minLen, maxLen, maxBytes int) {
	minLen, maxLen, maxBytes = p.MinLength, p.MaxLength, p.MaxBytes
	if minLen <= 0 {
		minLen = 15
	}
	if maxLen <= 0 {
		maxLen = 256
	}
	maxLen = max(maxLen, 64, minLen)
	if maxBytes <= 0 {
		maxBytes = 1024
	}
	return minLen, maxLen, maxBytes
}

// relatedTerms derives, from the user's details, the lowercase strings a
// password must not contain: each whole value; for an email, its local
// part (and the part before a "+tag"); and every word of letters or digits
// in a name or local part, so that "alice.smith@example.com" rules out
// "alice" and "smith". Terms shorter than 3 characters are dropped. The
// domain of an email is left out: "gmail" says nothing about the user. All
// terms also go to zxcvbn as its user dictionary.
func relatedTerms(related []string) []string {
	var terms []string
	seen := map[string]bool{}
	add := func(s string) {
		if utf8.RuneCountInString(s) >= 3 && !seen[s] {
			seen[s] = true
			terms = append(terms, s)
		}
	}
	for i, r := range related {
		if i == maxRelated {
			break
		}
		r = strings.ToLower(strings.TrimSpace(truncateRunes(r, relatedRunes)))
		if r == "" {
			continue
		}
		add(r)
		words := r
		if at := strings.LastIndexByte(r, '@'); at > 0 {
			local := r[:at]
			add(local)
			words = local
			if base, _, ok := strings.Cut(local, "+"); ok {
				add(base)
				words = base // a tag says nothing about the user
			}
		}
		for _, w := range strings.FieldsFunc(words, func(c rune) bool {
			return !unicode.IsLetter(c) && !unicode.IsDigit(c)
		}) {
			add(w)
		}
	}
	return terms
}

// containsTerm reports whether password contains term. A term shorter
// than 5 characters counts only where no letter touches it, so that the
// name "Ann" or "Anna" does not refuse "planning" or "bananas", while
// "ann2024" and "bob-smith" are still refused.
func containsTerm(password, term string) bool {
	if utf8.RuneCountInString(term) >= 5 {
		return strings.Contains(password, term)
	}
	for i := 0; i+len(term) <= len(password); {
		k := strings.Index(password[i:], term)
		if k < 0 {
			return false
		}
		start, end := i+k, i+k+len(term)
		before, _ := utf8.DecodeLastRuneInString(password[:start])
		after, _ := utf8.DecodeRuneInString(password[end:])
		if (start == 0 || !unicode.IsLetter(before)) && (end == len(password) || !unicode.IsLetter(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(password[start:])
		i = start + size
	}
	return false
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
