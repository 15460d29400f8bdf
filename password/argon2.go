package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

type argon2Variant int

const (
	argon2i argon2Variant = iota + 1
	argon2id
)

func (v argon2Variant) String() string {
	if v == argon2i {
		return "argon2i"
	}
	return "argon2id"
}

// Minimums of the Argon2 specification (RFC 9106 section 3.1); the
// reference implementation refuses hashes below them.
const (
	argon2MinSalt = 8
	argon2MinKey  = 4
)

// phcBase64 is the encoding of salts and keys in PHC strings: standard
// alphabet, no padding, and (Strict) no stray bits in the last character,
// as the reference implementation decodes them.
var phcBase64 = base64.RawStdEncoding.Strict()

// argon2Hash is an argon2i or argon2id hash, version 19 (0x13).
// params.SaltLength and params.KeyLength equal len(salt) and len(key).
type argon2Hash struct {
	variant argon2Variant
	params  Params
	salt    []byte
	key     []byte
}

// String encodes a in the PHC string format of the reference implementation.
func (a argon2Hash) String() string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", a.variant, argon2.Version,
		a.params.Memory, a.params.Iterations, a.params.Parallelism,
		phcBase64.EncodeToString(a.salt), phcBase64.EncodeToString(a.key))
}

func (a argon2Hash) scheme() string { return a.variant.String() }

func (a argon2Hash) derive(password string) []byte {
	p := a.params
	if a.variant == argon2i {
		return argon2.Key([]byte(password), a.salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	}
	return argon2.IDKey([]byte(password), a.salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
}

func (a argon2Hash) matches(password string) (bool, error) {
	return subtle.ConstantTimeCompare(a.derive(password), a.key) == 1, nil
}

// parseArgon2 reads "$argon2id$v=19$m=M,t=T,p=P$salt$key" (or argon2i)
// strictly: fields in the reference implementation's order, decimals
// without signs or leading zeros, canonical unpadded base64. So a parsed
// hash encodes back to exactly the input. It checks what the Argon2
// specification requires, not the work bounds.
func parseArgon2(s string) (argon2Hash, error) {
	var a argon2Hash
	f := strings.Split(s, "$")
	if len(f) < 2 || f[0] != "" {
		return a, fmt.Errorf("%w: argon2: not a PHC string", ErrMalformed)
	}
	switch f[1] {
	case "argon2id":
		a.variant = argon2id
	case "argon2i":
		a.variant = argon2i
	case "argon2d":
		return a, fmt.Errorf("%w: argon2d is not meant for passwords", ErrUnsupported)
	default:
		return a, fmt.Errorf("%w: argon2: unknown variant", ErrMalformed)
	}
	if len(f) == 5 && strings.HasPrefix(f[2], "m=") {
		return a, fmt.Errorf("%w: argon2 version 16 (no v= field); only version 19 is supported", ErrUnsupported)
	}
	if len(f) != 6 {
		return a, fmt.Errorf("%w: argon2: want 5 $-separated fields", ErrMalformed)
	}

	v, ok := strings.CutPrefix(f[2], "v=")
	if !ok {
		return a, fmt.Errorf("%w: argon2: missing version", ErrMalformed)
	}
	version, ok := parseDecimal(v, 1<<32-1)
	if !ok {
		return a, fmt.Errorf("%w: argon2: bad version", ErrMalformed)
	}
	if version != argon2.Version {
		return a, fmt.Errorf("%w: argon2 version %d; only version 19 is supported", ErrUnsupported, version)
	}

	var m, t, p uint64
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return a, fmt.Errorf("%w: argon2: want parameters m, t and p only", ErrMalformed)
	}
	for i, dst := range []*uint64{&m, &t, &p} {
		name := "mtp"[i : i+1]
		val, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return a, fmt.Errorf("%w: argon2: want parameters m, t and p in that order", ErrMalformed)
		}
		if *dst, ok = parseDecimal(val, 1<<32-1); !ok {
			return a, fmt.Errorf("%w: argon2: bad parameter %s", ErrMalformed, name)
		}
	}
	switch {
	case t < 1:
		return a, fmt.Errorf("%w: argon2: t must be at least 1", ErrMalformed)
	case p < 1 || p > 1<<24-1:
		return a, fmt.Errorf("%w: argon2: p must be from 1 to 2^24-1", ErrMalformed)
	case p > 255:
		return a, fmt.Errorf("%w: argon2 parallelism %d above 255", ErrUnsupported, p)
	case m < 8*p:
		return a, fmt.Errorf("%w: argon2: m must be at least 8·p KiB", ErrMalformed)
	}

	var err error
	if a.salt, err = decodePHCBase64(f[4]); err != nil {
		return a, fmt.Errorf("%w: argon2 salt: %v", ErrMalformed, err)
	}
	if a.key, err = decodePHCBase64(f[5]); err != nil {
		return a, fmt.Errorf("%w: argon2 key: %v", ErrMalformed, err)
	}
	if len(a.salt) < argon2MinSalt {
		return a, fmt.Errorf("%w: argon2 salt shorter than %d bytes", ErrMalformed, argon2MinSalt)
	}
	if len(a.key) < argon2MinKey {
		return a, fmt.Errorf("%w: argon2 key shorter than %d bytes", ErrMalformed, argon2MinKey)
	}
	a.params = Params{
		Memory:      uint32(m),
		Iterations:  uint32(t),
		Parallelism: uint8(p),
		SaltLength:  uint32(len(a.salt)), // #nosec G115 -- decoded from a hash string the Hasher's limits keep short
		KeyLength:   uint32(len(a.key)),  // #nosec G115 -- decoded from a hash string the Hasher's limits keep short
	}
	return a, nil
}

// decodePHCBase64 decodes s only if every character is in the standard
// alphabet: encoding/base64 skips CR and LF even in Strict mode.
func decodePHCBase64(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, fmt.Errorf("character %d is not base64", i)
		}
	}
	b, err := phcBase64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not canonical unpadded base64")
	}
	return b, nil
}

// parseDecimal parses a canonical unsigned decimal (digits only, no sign,
// no leading zero) that is at most limit.
func parseDecimal(s string, limit uint64) (uint64, bool) {
	if s == "" || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > limit {
		return 0, false
	}
	return n, true
}
