package password

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptHash is a "$2a$", "$2b$" or "$2y$" hash: 60 characters, a two-digit
// cost, then 22 characters of salt and 31 of hash in bcrypt's base64.
type bcryptHash struct {
	encoded string
	cost    int
}

// bcryptMaxPassword is how much of a password bcrypt reads.
const bcryptMaxPassword = 72

func (b bcryptHash) scheme() string { return "bcrypt" }

// matches follows python bcrypt 3.2, which made the hashes we import: it
// refuses passwords containing NUL (so none can match) and reads only the
// first 72 bytes. x/crypto/bcrypt refuses to hash longer passwords; we cut
// them ourselves so that a password that verified in the Flask app still
// verifies here.
func (b bcryptHash) matches(password string) (bool, error) {
	if strings.IndexByte(password, 0) >= 0 {
		return false, nil
	}
	if len(password) > bcryptMaxPassword {
		password = password[:bcryptMaxPassword]
	}
	err := bcrypt.CompareHashAndPassword([]byte(b.encoded), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, err
	}
}

func parseBcrypt(s string) (bcryptHash, error) {
	b := bcryptHash{encoded: s}
	if len(s) < 4 || s[0] != '$' || s[1] != '2' || s[3] != '$' {
		return b, fmt.Errorf("%w: bcrypt: want $2a$, $2b$ or $2y$", ErrMalformed)
	}
	switch s[2] {
	case 'a', 'b', 'y':
	default:
		// $2x$ marks hashes made by crypt_blowfish's sign-extension bug.
		return b, fmt.Errorf("%w: bcrypt variant other than 2a, 2b, 2y", ErrUnsupported)
	}
	if len(s) != 60 || s[6] != '$' {
		return b, fmt.Errorf("%w: bcrypt: want 60 characters", ErrMalformed)
	}
	cost, ok := parseBcryptCost(s[4:6])
	if !ok || cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return b, fmt.Errorf("%w: bcrypt: cost must be 04 to 31", ErrMalformed)
	}
	b.cost = cost
	for i := 7; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '/') {
			return b, fmt.Errorf("%w: bcrypt: salt or hash is not bcrypt base64", ErrMalformed)
		}
	}
	return b, nil
}

func parseBcryptCost(s string) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}
