package password

import (
	"crypto/pbkdf2"
	"crypto/sha1" // #nosec G505 -- only to verify imported Werkzeug pbkdf2:sha1 hashes, which NeedsRehash replaces; never for new hashes
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Werkzeug (werkzeug.security.generate_password_hash) stores
// "method$salt$hexkey". The salt is gen_salt's string of ASCII letters and
// digits, used as its UTF-8 bytes (not decoded); the key is lowercase hex.
// Methods read here:
//
//	scrypt:N:r:p   hashlib.scrypt, dklen 64, maxmem 132·N·r·p (Werkzeug 3.x)
//	scrypt         the same with N=2^15, r=8, p=1 (Werkzeug 3.x defaults)
//	pbkdf2:H:I     hashlib.pbkdf2_hmac(H, …, I), dklen = H's digest size
//	pbkdf2:H       the same with I = werkzeugDefaultIterations
//
// Werkzeug always writes the iteration count; a stored "pbkdf2:sha256"
// without one is verified by Werkzeug with whatever default the verifying
// version has. We use 260000, the default of Werkzeug 2.0 to 2.2 (which made
// the test vectors); 2.3 and 3.0 use 600000, 3.1 uses 1000000.
const werkzeugDefaultIterations = 260000

// Werkzeug 3.x's scrypt defaults, used for a bare "scrypt" method.
const (
	werkzeugScryptN = 1 << 15
	werkzeugScryptR = 8
	werkzeugScryptP = 1
)

// splitWerkzeug splits "method$salt$hexkey" the way check_password_hash
// does (at the first two '$') and decodes the key.
func splitWerkzeug(s string) (method, salt string, key []byte, err error) {
	method, rest, ok := strings.Cut(s, "$")
	if !ok {
		return "", "", nil, fmt.Errorf("%w: werkzeug: want method$salt$hash", ErrMalformed)
	}
	salt, hexKey, ok := strings.Cut(rest, "$")
	if !ok {
		return "", "", nil, fmt.Errorf("%w: werkzeug: want method$salt$hash", ErrMalformed)
	}
	if salt == "" {
		return "", "", nil, fmt.Errorf("%w: werkzeug: empty salt", ErrMalformed)
	}
	for i := 0; i < len(salt); i++ {
		c := salt[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return "", "", nil, fmt.Errorf("%w: werkzeug: salt is not letters and digits", ErrMalformed)
		}
	}
	// Werkzeug compares hex strings, so only its own lowercase output
	// could ever match.
	for i := 0; i < len(hexKey); i++ {
		c := hexKey[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", "", nil, fmt.Errorf("%w: werkzeug: hash is not lowercase hex", ErrMalformed)
		}
	}
	key, err = hex.DecodeString(hexKey)
	if err != nil {
		return "", "", nil, fmt.Errorf("%w: werkzeug: odd-length hex hash", ErrMalformed)
	}
	return method, salt, key, nil
}

// scryptHash is a Werkzeug scrypt hash.
type scryptHash struct {
	n, r, p uint64
	salt    string
	key     []byte
}

const werkzeugScryptKeyLen = 64

func (s scryptHash) scheme() string { return "scrypt" }

func (s scryptHash) matches(password string) (bool, error) {
	// #nosec G115 -- N, r and p are parsed at most MaxUint32 and checked against Python's INT_MAX maxmem
	k, err := scrypt.Key([]byte(password), []byte(s.salt), int(s.n), int(s.r), int(s.p), werkzeugScryptKeyLen)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(k, s.key) == 1, nil
}

func parseScrypt(encoded string) (scryptHash, error) {
	var s scryptHash
	method, salt, key, err := splitWerkzeug(encoded)
	if err != nil {
		return s, err
	}
	s.salt, s.key = salt, key
	args := strings.Split(method, ":")
	switch {
	case len(args) == 1 && args[0] == "scrypt":
		s.n, s.r, s.p = werkzeugScryptN, werkzeugScryptR, werkzeugScryptP
	case len(args) == 4 && args[0] == "scrypt":
		for i, dst := range []*uint64{&s.n, &s.r, &s.p} {
			v, ok := parseDecimal(args[i+1], math.MaxUint32)
			if !ok {
				return s, fmt.Errorf("%w: scrypt: bad %s", ErrMalformed, []string{"N", "r", "p"}[i])
			}
			*dst = v
		}
	default:
		return s, fmt.Errorf("%w: scrypt: want scrypt:N:r:p", ErrMalformed)
	}
	if err := werkzeugCouldScrypt(s.n, s.r, s.p); err != nil {
		return s, err
	}
	if len(s.key) != werkzeugScryptKeyLen {
		return s, fmt.Errorf("%w: scrypt: hash is not %d bytes", ErrMalformed, werkzeugScryptKeyLen)
	}
	return s, nil
}

// werkzeugCouldScrypt refuses parameters that Werkzeug could not have
// hashed with, because Python or OpenSSL would have raised: N a power of
// two of at least 2, r and p positive, maxmem = 132·N·r·p at most INT_MAX
// (Python), the memory OpenSSL needs, 128·r·(N+p+2), within maxmem, and
// N < 2^(16·r) (OpenSSL). Each value is at most 2^32 on entry.
func werkzeugCouldScrypt(n, r, p uint64) error {
	const intMax = math.MaxInt32
	switch {
	case n < 2 || n&(n-1) != 0:
		return fmt.Errorf("%w: scrypt: N must be a power of 2 above 1", ErrMalformed)
	case r < 1 || p < 1:
		return fmt.Errorf("%w: scrypt: r and p must be positive", ErrMalformed)
	case n > intMax/132 || n*r > intMax/132 || n*r*p > intMax/132:
		// Ordered so that no product overflows: each test bounds the
		// factors of the next.
		return fmt.Errorf("%w: scrypt: 132·N·r·p exceeds Python's maxmem limit", ErrMalformed)
	case 128*r*(n+p+2) > 132*n*r*p:
		return fmt.Errorf("%w: scrypt: parameters OpenSSL refuses under Werkzeug's maxmem", ErrMalformed)
	case 16*r < 64 && n >= 1<<(16*r):
		return fmt.Errorf("%w: scrypt: N must be below 2^(16·r)", ErrMalformed)
	}
	return nil
}

// pbkdf2Hash is a Werkzeug PBKDF2-HMAC hash.
type pbkdf2Hash struct {
	digest     string
	newHash    func() hash.Hash
	iterations uint64
	salt       string
	key        []byte
}

// pbkdf2Digests are the hashlib names Werkzeug apps use with PBKDF2.
var pbkdf2Digests = map[string]struct {
	new  func() hash.Hash
	size int
}{
	"sha1":   {sha1.New, sha1.Size},
	"sha224": {sha256.New224, sha256.Size224},
	"sha256": {sha256.New, sha256.Size},
	"sha384": {sha512.New384, sha512.Size384},
	"sha512": {sha512.New, sha512.Size},
}

func (h pbkdf2Hash) scheme() string { return "pbkdf2-" + h.digest }

func (h pbkdf2Hash) matches(password string) (bool, error) {
	// #nosec G115 -- iterations are parsed at most MaxInt32
	k, err := pbkdf2.Key(h.newHash, password, []byte(h.salt), int(h.iterations), len(h.key))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(k, h.key) == 1, nil
}

func parsePBKDF2(encoded string) (pbkdf2Hash, error) {
	var h pbkdf2Hash
	method, salt, key, err := splitWerkzeug(encoded)
	if err != nil {
		return h, err
	}
	h.salt, h.key = salt, key
	args := strings.Split(method, ":")
	if args[0] != "pbkdf2" || len(args) < 2 || len(args) > 3 {
		return h, fmt.Errorf("%w: pbkdf2: want pbkdf2:digest:iterations", ErrMalformed)
	}
	h.digest = args[1]
	d, ok := pbkdf2Digests[h.digest]
	if !ok {
		return h, fmt.Errorf("%w: pbkdf2 with an unknown digest", ErrUnsupported)
	}
	h.newHash = d.new
	h.iterations = werkzeugDefaultIterations
	if len(args) == 3 {
		h.iterations, ok = parseDecimal(args[2], math.MaxInt32)
		if !ok || h.iterations < 1 {
			return h, fmt.Errorf("%w: pbkdf2: bad iteration count", ErrMalformed)
		}
	}
	if len(h.key) != d.size {
		return h, fmt.Errorf("%w: pbkdf2: hash is not %d bytes", ErrMalformed, d.size)
	}
	return h, nil
}
