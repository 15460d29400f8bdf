package secrets

import (
	"bytes"
	"errors"
	"math"
	"strings"
)

// MinKeyLen is the shortest signing key CheckStrength accepts, in bytes.
const MinKeyLen = 32

// minKeyBits is the entropy estimate (see estimateBits) a key needs. 64
// random hex characters estimate at 200 bits or more, 43 random base64
// characters at 185 or more, 32 random bytes at 150 or more; a key made of a
// repeated or sequential pattern estimates far below.
const minKeyBits = 128

// The reasons CheckStrength gives, each wrapped in a *StrengthError. Test
// for them with errors.Is.
var (
	ErrKeyTooShort   = errors.New("secrets: key is shorter than 32 bytes")
	ErrKeyKnown      = errors.New("secrets: key is a well-known example value")
	ErrKeyLowEntropy = errors.New("secrets: key has too little entropy (a repeated, sequential or small set of characters)")
)

// StrengthError is the error CheckStrength returns. Err is one of
// ErrKeyTooShort, ErrKeyKnown and ErrKeyLowEntropy (errors.Is finds it
// through the StrengthError). Reason says the same for a message about a
// named key: it completes a sentence that starts with the key's name, as
// in "SECRET_KEY " + Reason ("SECRET_KEY is shorter than 32 bytes").
// Neither ever contains the key.
type StrengthError struct {
	Reason string
	Err    error
}

// Error returns Err's message.
func (e *StrengthError) Error() string { return e.Err.Error() }

// Unwrap returns Err, for errors.Is.
func (e *StrengthError) Unwrap() error { return e.Err }

// strengthErr wraps sentinel, whose text is "secrets: key " + the reason.
func strengthErr(sentinel error) error {
	return &StrengthError{Reason: strings.TrimPrefix(sentinel.Error(), "secrets: key "), Err: sentinel}
}

// knownKeys are example values from tutorials, framework docs and
// generated templates, compared case-insensitively after trimming spaces
// and quotes. Short ones are refused for their length anyway; listing them
// gives a clearer error. Long ones (such as the key printed in Flask's
// quickstart) would pass the entropy estimate and are the reason this list
// exists.
var knownKeys = []string{
	"changeme", "change-me", "change_me", "change me", "changethis", "change-this",
	"secret", "secrets", "hardcoded-secret", "hardcoded_secret",
	"dev", "development", "dev-key", "dev_key", "devkey", "dev-secret", "development-key",
	"default", "password", "passw0rd", "admin", "test", "testing", "test-secret",
	"your-secret-key", "your_secret_key", "yoursecretkey", "your-secret-key-here",
	"supersecret", "super-secret", "super_secret", "super secret key", "super-secret-key",
	"mysecret", "my-secret", "my_secret", "mysecretkey", "my-secret-key", "my_secret_key",
	"secret_key", "secret-key", "secretkey", "secret key", "flask-secret", "flask-secret-key",
	"flask_secret_key", "django-secret-key", "keyboard cat", "s3cr3t", "secret123",
	"you-will-never-guess", "hard to guess string", "a really long secret key",
	"insecure", "example", "dummy", "foobar", "placeholder", "replace-me", "replaceme",
	"12345678", "123456789", "1234567890", "qwerty", "abc123", "none", "null", "todo", "xxx",
	// Flask's quickstart: "python -c 'import secrets; print(secrets.token_hex())'"
	// followed by this sample output, copied into many applications.
	"192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf",
	// Older Flask documentation samples.
	"_5#y2l\"f4q8z\n\xec]/", `_5#y2l"f4q8z\n\xec]/`,
	"a0zr98j/3yx r~xhh!jmn]lwx/,?rt",
}

// knownMarkers are placeholder phrases that make a key an example value
// wherever they appear in it (case-insensitively). All are 7 bytes or more,
// so a randomly generated key contains one with negligible probability.
var knownMarkers = []string{
	"changeme", "change-me", "change_me", "change me", "changethis", "change-this",
	"replace-me", "replaceme", "replace_me", "your-secret", "your_secret", "yoursecret",
	"django-insecure-", "insecure", "placeholder", "example", "notasecret", "not-a-secret",
	"not-secret", "never-guess", "hard to guess", "1234567890", "qwertyuiop",
}

// CheckStrength reports whether key is fit to sign sessions and tokens: at
// least 32 bytes long, not a well-known example value, and with enough
// entropy by a conservative estimate. The error is a *StrengthError that
// says which test failed (errors.Is against ErrKeyTooShort, ErrKeyKnown,
// ErrKeyLowEntropy) and never contains the key.
//
// Generate keys with `openssl rand -hex 32` (64 hex characters) or
// `python -c 'import secrets; print(secrets.token_hex())'`.
func CheckStrength(key []byte) error {
	if isKnown(key) {
		return strengthErr(ErrKeyKnown)
	}
	if len(key) < MinKeyLen {
		return strengthErr(ErrKeyTooShort)
	}
	if estimateBits(key) < minKeyBits {
		return strengthErr(ErrKeyLowEntropy)
	}
	return nil
}

func isKnown(key []byte) bool {
	k := asciiLower(bytes.Trim(key, " \t\r\n'\""))
	for _, known := range knownKeys {
		if k == known {
			return true
		}
	}
	if len(k) > 4096 { // markers matter in human-made keys, which are short
		k = k[:4096]
	}
	for _, m := range knownMarkers {
		if strings.Contains(k, m) {
			return true
		}
	}
	return false
}

// estimateBits is a deliberately simple entropy estimate: the per-byte
// Shannon entropy of the key (with the Miller–Madow correction for small
// samples, so that short random keys are not under-rated), multiplied by
// the number of "surprising" positions. A position is surprising when the
// 4 bytes ending there have not been seen before in the key (which
// discounts repeats such as "abcabcabc…") and it does not continue an
// arithmetic run such as "abcdef", "13579" or "a1b2c3" (which discounts
// sequences).
//
// It cannot tell a random string from a long sentence; the length rule and
// the list of example values cover the common human choices.
func estimateBits(key []byte) float64 {
	n := len(key)
	if n == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range key {
		counts[c]++
	}
	h, distinct := 0.0, 0
	for _, c := range counts {
		if c == 0 {
			continue
		}
		distinct++
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	if distinct == 1 {
		return 0
	}
	h += float64(distinct-1) / (2 * float64(n) * math.Ln2)

	const gram = 4
	if n < gram {
		return h * float64(n)
	}
	seen := make(map[[gram]byte]struct{}, n)
	surprising := gram - 1
	for i := gram - 1; i < n; i++ {
		var g [gram]byte
		copy(g[:], key[i-gram+1:i+1])
		if _, dup := seen[g]; dup {
			continue
		}
		seen[g] = struct{}{}
		if continuesRun(key, i) {
			continue
		}
		surprising++
	}
	return h * float64(surprising)
}

// continuesRun reports whether key[i] continues a run with a small constant
// step, looking at neighbours 1 apart ("abcd", "aaaa") and 2 apart
// ("a1b2c3").
func continuesRun(key []byte, i int) bool {
	for lag := 1; lag <= 2; lag++ {
		if i-2*lag < 0 {
			continue
		}
		d1 := int(key[i]) - int(key[i-lag])
		d2 := int(key[i-lag]) - int(key[i-2*lag])
		if d1 == d2 && d1 >= -2 && d1 <= 2 {
			return true
		}
	}
	return false
}

// asciiLower lower-cases ASCII letters and keeps every other byte as it is
// (strings.ToLower would replace invalid UTF-8, and keys may be binary).
func asciiLower(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return string(out)
}
