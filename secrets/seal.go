package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// DeriveKey derives a 32-byte key for one purpose from a master key
// (SECRET_KEY) with HKDF-SHA256, the purpose as its info. Keys for
// different purposes are independent: one leaking, or being used by
// mistake in another place, tells nothing about the master key or the
// others. purpose must not be empty.
func DeriveKey(master []byte, purpose string) ([]byte, error) {
	if len(master) == 0 || purpose == "" {
		return nil, errors.New("secrets: DeriveKey needs a key and a purpose")
	}
	k, err := hkdf.Key(sha256.New, master, nil, "bulwark "+purpose, 32)
	if err != nil {
		return nil, fmt.Errorf("secrets: derive key: %w", err)
	}
	return k, nil
}

// sealVersion is the first byte of every sealed value, so the format can
// change without guessing.
const sealVersion = 1

// ErrUnsealable means a sealed value opens under none of the keys: it was
// sealed under a key that is no longer configured, or it was altered.
var ErrUnsealable = errors.New("secrets: sealed value cannot be opened with any configured key")

// Sealer encrypts small values to keep at rest, such as TOTP secrets in a
// database row, with AES-256-GCM under a key derived from each master
// key (DeriveKey with the Sealer's purpose). The first key seals; every
// key opens, so a SECRET_KEY rotation with the old key among the
// fallbacks loses nothing, and Open says when a value should be sealed
// again under the current key.
//
// The additional data given to Seal must be given to Open too. Bind each
// value to where it is kept (for example "user:42"): a sealed value
// copied to another row then fails to open.
type Sealer struct {
	aeads []cipher.AEAD
}

// NewSealer returns a Sealer for purpose (e.g. "totp secret") over keys,
// the current key first.
func NewSealer(purpose string, keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("secrets: NewSealer needs at least one key")
	}
	s := &Sealer{}
	for _, master := range keys {
		k, err := DeriveKey(master, "seal "+purpose)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("secrets: sealer: %w", err)
		}
		// Random 96-bit nonces: safe for far more values than a user
		// table holds under one key (NIST's 2^32 bound).
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secrets: sealer: %w", err)
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// Seal encrypts plaintext under the current key: version byte, random
// nonce, ciphertext and tag.
func (s *Sealer) Seal(plaintext, additionalData []byte) []byte {
	aead := s.aeads[0]
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:]) // never fails (Go 1.24+: it crashes the program instead)
	// #nosec G407 -- the nonce out[1:] was just filled by crypto/rand
	return aead.Seal(out, out[1:], plaintext, additionalData)
}

// Open decrypts a value Seal made, trying the current key and then each
// fallback. stale reports that a fallback opened it: seal it again so
// the fallback key can be retired. A value no key opens is ErrUnsealable.
func (s *Sealer) Open(sealed, additionalData []byte) (plaintext []byte, stale bool, err error) {
	for i, aead := range s.aeads {
		n := aead.NonceSize()
		if len(sealed) < 1+n+aead.Overhead() || sealed[0] != sealVersion {
			return nil, false, ErrUnsealable
		}
		p, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], additionalData)
		if err == nil {
			return p, i > 0, nil
		}
	}
	return nil, false, ErrUnsealable
}
