package totp

import (
	"crypto/rand"
	"errors"
	"strings"
)

// Recovery codes are ten characters of lower-case base32 (50 bits from
// crypto/rand), shown as two groups of five: "k7d2m-qx4pa". Fifty bits is
// far beyond online guessing under a per-account limit, and short enough
// to copy by hand from paper.
const (
	// RecoveryCodeLen is the number of characters of a recovery code,
	// without its separator.
	RecoveryCodeLen = 10
	// RecoveryCodeCount is how many codes a set has.
	RecoveryCodeCount = 10
)

// recoveryAlphabet is RFC 4648's base32 alphabet in lower case: no 0, 1,
// 8 or 9, so ParseRecoveryCode can read a 0 typed for o and a 1 for l.
const recoveryAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// ErrMalformedRecoveryCode means the input cannot be a recovery code.
var ErrMalformedRecoveryCode = errors.New("totp: not a recovery code")

// GenerateRecoveryCodes returns n new recovery codes in their display
// form, "abcde-fghij". Store only a hash of each (of ParseRecoveryCode's
// form), and show the codes once.
func GenerateRecoveryCodes(n int) ([]string, error) {
	if n <= 0 || n > 100 {
		return nil, errors.New("totp: a recovery code set has 1–100 codes")
	}
	codes := make([]string, n)
	raw := make([]byte, RecoveryCodeLen)
	for i := range codes {
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		var b strings.Builder
		for j, c := range raw {
			if j == RecoveryCodeLen/2 {
				b.WriteByte('-')
			}
			b.WriteByte(recoveryAlphabet[c&31]) // 256 is a multiple of 32: no bias
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// maxRecoveryInput bounds what ParseRecoveryCode reads.
const maxRecoveryInput = 40

// ParseRecoveryCode reads a recovery code as a person types it: in
// either case, with or without the hyphen, with spaces anywhere, with 0
// for o and 1 for l. It returns the canonical form (ten lower-case
// characters, no separator), the form to hash and compare.
func ParseRecoveryCode(s string) (string, error) {
	if len(s) > maxRecoveryInput {
		return "", ErrMalformedRecoveryCode
	}
	var b [RecoveryCodeLen]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '0':
			c = 'o'
		case c == '1':
			c = 'l'
		}
		if n == RecoveryCodeLen || strings.IndexByte(recoveryAlphabet, c) < 0 {
			return "", ErrMalformedRecoveryCode
		}
		b[n] = c
		n++
	}
	if n != RecoveryCodeLen {
		return "", ErrMalformedRecoveryCode
	}
	return string(b[:]), nil
}
