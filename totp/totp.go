package totp

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"
)

// The parameters every authenticator app understands (RFC 6238's
// defaults, and Google Authenticator's only ones): 30-second steps,
// six digits, HMAC-SHA1.
const (
	Period = 30 * time.Second
	Digits = 6
	// Skew is how many steps before and after the current one are
	// accepted, for a phone whose clock is a little off.
	Skew = 1
)

// secretBytes is the size of a generated secret: 160 bits, RFC 4226's
// recommendation and HMAC-SHA1's block-friendly size.
const secretBytes = 20

// Errors Validate and ParseCode return; test with errors.Is.
var (
	// ErrMalformed means the input is not six digits (spaces aside).
	ErrMalformed = errors.New("totp: the code is not six digits")
	// ErrInvalid means the code matches no step in the window.
	ErrInvalid = errors.New("totp: wrong code")
	// ErrReplayed means the code is right but its step was already used:
	// it was accepted once and must not be accepted again.
	ErrReplayed = errors.New("totp: code already used")
)

var noPadding = base32.StdEncoding.WithPadding(base32.NoPadding)

var opts = pqtotp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Key is a TOTP key for one account: its secret, and the otpauth:// URL
// an authenticator app reads from the QR code.
type Key struct {
	k *otp.Key
}

// Generate makes a key with a new random secret for account (shown in
// the app, usually an email) at issuer (the service's name).
func Generate(issuer, account string) (*Key, error) {
	k, err := pqtotp.Generate(pqtotp.GenerateOpts{
		Issuer: issuer, AccountName: account, SecretSize: secretBytes,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Period: uint(Period / time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("totp: generate key: %w", err)
	}
	return &Key{k}, nil
}

// FromSecret rebuilds the key of a stored secret (base32, as
// Key.Secret returned it), to show its QR code again.
func FromSecret(issuer, account, secret string) (*Key, error) {
	raw, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	k, err := pqtotp.Generate(pqtotp.GenerateOpts{
		Issuer: issuer, AccountName: account, Secret: raw,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Period: uint(Period / time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("totp: key from secret: %w", err)
	}
	return &Key{k}, nil
}

// Secret is the key's secret in base32 without padding, the form apps
// accept when it is typed in.
func (k *Key) Secret() string { return k.k.Secret() }

// URL is the key's otpauth:// URL, what the QR code holds.
func (k *Key) URL() string { return k.k.URL() }

// PNG renders the key's QR code as a size×size PNG image.
func (k *Key) PNG(size int) ([]byte, error) {
	if size < 64 || size > 1024 {
		return nil, fmt.Errorf("totp: QR code size %d out of range 64–1024", size)
	}
	img, err := k.k.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	return buf.Bytes(), nil
}

// Step is the time step t falls in: the counter of RFC 6238.
func Step(t time.Time) uint64 {
	return uint64(t.Unix()) / uint64(Period/time.Second) // #nosec G115 -- steps count from 1970; callers pass the clock
}

// maxCodeInput bounds what ParseCode reads: six digits with room for
// spaces, not a megabyte of them.
const maxCodeInput = 32

// ParseCode reads a code as a person types it: six digits, with any
// spaces (and tabs) around or between them ignored. Anything else is
// ErrMalformed.
func ParseCode(s string) (string, error) {
	if len(s) > maxCodeInput {
		return "", ErrMalformed
	}
	var b [Digits]byte
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
		case c >= '0' && c <= '9' && n < Digits:
			b[n] = c
			n++
		default:
			return "", ErrMalformed
		}
	}
	if n != Digits {
		return "", ErrMalformed
	}
	return string(b[:]), nil
}

// Validate checks code against secret at now, allowing Skew steps either
// way, and returns the step it matched. Only steps after lastStep are
// accepted: the caller stores the returned step as the account's new
// lastStep (atomically, only if it is still greater), so each code works
// once. lastStep is 0 for a key that has never accepted a code.
//
// A right code of a step already used is ErrReplayed; a wrong one
// ErrInvalid; one that is not six digits ErrMalformed. Every step of the
// window is computed and compared in constant time whatever the answer.
func Validate(secret, code string, lastStep uint64, now time.Time) (uint64, error) {
	code, err := ParseCode(code)
	if err != nil {
		return 0, err
	}
	if _, err := decodeSecret(secret); err != nil {
		return 0, err
	}
	current := Step(now)
	var matched uint64
	replayed := false
	for d := -Skew; d <= Skew; d++ {
		step := current + uint64(d)
		// #nosec G115 -- step is within Skew of Step(now), which is Unix()/30: step·30 fits in int64
		want, err := pqtotp.GenerateCodeCustom(secret, time.Unix(int64(step)*int64(Period/time.Second), 0), opts)
		if err != nil {
			return 0, fmt.Errorf("totp: compute code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		if step > lastStep {
			matched = step // the loop goes up, so this keeps the latest
		} else {
			replayed = true
		}
	}
	switch {
	case matched != 0:
		return matched, nil
	case replayed:
		return 0, ErrReplayed
	}
	return 0, ErrInvalid
}

// GenerateCode returns the code of secret at t, as an authenticator app
// would show it: for tests and for tools, never needed to validate.
func GenerateCode(secret string, t time.Time) (string, error) {
	code, err := pqtotp.GenerateCodeCustom(secret, t, opts)
	if err != nil {
		return "", fmt.Errorf("totp: compute code: %w", err)
	}
	return code, nil
}

// decodeSecret reads a base32 secret, padded or not, in either case.
func decodeSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.TrimRight(strings.TrimSpace(secret), "="))
	raw, err := noPadding.DecodeString(s)
	if err != nil || len(raw) < 10 {
		return nil, errors.New("totp: the secret is not base32 of at least 80 bits")
	}
	return raw, nil
}
