package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
)

// Prefix starts every key.
const Prefix = "bwk_"

// Lengths of a key's parts, in base62 characters.
const (
	IDLen       = 8  // the public id
	secretLen   = 43 // 256 random bits
	checksumLen = 6  // CRC-32: 62^6 > 2^32
	// KeyLen is the length of a whole key.
	KeyLen = len(Prefix) + IDLen + secretLen + checksumLen
)

// ErrMalformed means a string is not a well-formed key: wrong prefix,
// length or characters, or a checksum that does not match (a typo).
var ErrMalformed = errors.New("apikey: malformed key")

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Token is a newly generated key. Plaintext is shown to its owner once and
// never stored; store [Hash] of it and ID.
type Token struct {
	ID        string // the public id, IDLen base62 characters
	Plaintext string // the whole key, KeyLen characters
}

// String returns the key's prefix and id only, so that printing or logging
// a Token by mistake does not reveal the key. Use Plaintext to show it.
func (t Token) String() string { return Prefix + t.ID + "…" }

// GoString is String, for %#v.
func (t Token) GoString() string {
	return "apikey.Token{ID: " + fmt.Sprintf("%q", t.ID) + ", Plaintext: <redacted>}"
}

// Generate returns a new key with a random id and a 256-bit random secret.
func Generate() (Token, error) {
	b := make([]byte, 0, KeyLen)
	b = append(b, Prefix...)
	b = appendRandom62(b, IDLen+secretLen)
	b = appendChecksum(b)
	s := string(b)
	return Token{ID: s[len(Prefix) : len(Prefix)+IDLen], Plaintext: s}, nil
}

// appendRandom62 appends n base62 characters drawn uniformly from
// crypto/rand: bytes of 248 and above are rejected, so that b%62 is uniform
// (248 = 4 × 62).
func appendRandom62(b []byte, n int) []byte {
	var buf [64]byte
	for n > 0 {
		rand.Read(buf[:]) // never fails: it crashes the program if the OS cannot give randomness
		for _, c := range buf {
			if c >= 248 {
				continue
			}
			b = append(b, base62[c%62])
			if n--; n == 0 {
				break
			}
		}
	}
	return b
}

// appendChecksum appends the CRC-32 of b as checksumLen base62 digits, most
// significant first.
func appendChecksum(b []byte) []byte {
	sum := crc32.ChecksumIEEE(b)
	var digits [checksumLen]byte
	for i := checksumLen - 1; i >= 0; i-- {
		digits[i] = base62[sum%62]
		sum /= 62
	}
	return append(b, digits[:]...)
}

// Parse checks that s is a well-formed key (prefix, length, alphabet and
// checksum) and returns its public id. It does not say whether the key
// exists: that needs the Store. Errors wrap ErrMalformed.
func Parse(s string) (id string, err error) {
	if len(s) != KeyLen {
		return "", fmt.Errorf("%w: want %d characters", ErrMalformed, KeyLen)
	}
	if s[:len(Prefix)] != Prefix {
		return "", fmt.Errorf("%w: want the prefix %s", ErrMalformed, Prefix)
	}
	for i := len(Prefix); i < len(s); i++ {
		if !isBase62(s[i]) {
			return "", fmt.Errorf("%w: want only letters and digits after %s", ErrMalformed, Prefix)
		}
	}
	body := s[:KeyLen-checksumLen]
	var want [KeyLen]byte
	if string(appendChecksum(append(want[:0], body...))[len(body):]) != s[len(body):] {
		// The checksum is public (anyone can compute it), so an ordinary
		// comparison reveals nothing.
		return "", fmt.Errorf("%w: checksum does not match (a typo?)", ErrMalformed)
	}
	return s[len(Prefix) : len(Prefix)+IDLen], nil
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// ValidID reports whether id has the form of a key's public id.
func ValidID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := range len(id) {
		if !isBase62(id[i]) {
			return false
		}
	}
	return true
}

// Hash returns the SHA-256 of a whole key, the only form in which a key is
// stored. A fast hash is right for a 256-bit random secret; see the package
// documentation for why a password hash is not.
func Hash(plaintext string) [32]byte { return sha256.Sum256([]byte(plaintext)) }
