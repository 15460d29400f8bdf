package secrets

import (
	"bytes"
	"errors"
	"testing"
)

var (
	oldMaster = []byte("0123456789abcdef0123456789abcdef-old")
	newMaster = []byte("0123456789abcdef0123456789abcdef-new")
)

// A value sealed under a key that became a fallback still opens, and Open
// says it is stale; one sealed under an unknown key, moved to another
// row (other additional data) or altered does not open.
func TestSealerRotationAndBinding(t *testing.T) {
	before, err := NewSealer("totp secret", oldMaster)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("JBSWY3DPEHPK3PXP")
	sealed := before.Seal(plain, []byte("user:1"))
	if bytes.Contains(sealed, plain) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if p, stale, err := before.Open(sealed, []byte("user:1")); err != nil || stale || !bytes.Equal(p, plain) {
		t.Fatalf("open: %q %v %v", p, stale, err)
	}

	after, _ := NewSealer("totp secret", newMaster, oldMaster)
	p, stale, err := after.Open(sealed, []byte("user:1"))
	if err != nil || !stale || !bytes.Equal(p, plain) {
		t.Fatalf("open after rotation: %q stale=%v %v", p, stale, err)
	}
	resealed := after.Seal(p, []byte("user:1"))
	if _, stale, err := after.Open(resealed, []byte("user:1")); err != nil || stale {
		t.Fatalf("resealed: stale=%v %v", stale, err)
	}

	// The fallback is retired: the old value is gone, the resealed one stays.
	retired, _ := NewSealer("totp secret", newMaster)
	if _, _, err := retired.Open(sealed, []byte("user:1")); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("value under a retired key: %v", err)
	}
	if _, _, err := retired.Open(resealed, []byte("user:1")); err != nil {
		t.Fatal(err)
	}
	// Remove additionalData from Open's aead.Open call to see this pass.
	if _, _, err := after.Open(resealed, []byte("user:2")); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("value moved to another user opened: %v", err)
	}
	// Another purpose derives another key.
	other, _ := NewSealer("something else", newMaster)
	if _, _, err := other.Open(resealed, []byte("user:1")); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("opened under another purpose: %v", err)
	}
	for i := range resealed {
		bad := bytes.Clone(resealed)
		bad[i] ^= 1
		if _, _, err := after.Open(bad, []byte("user:1")); !errors.Is(err, ErrUnsealable) {
			t.Fatalf("altered byte %d: %v", i, err)
		}
	}
	if _, _, err := after.Open(nil, nil); !errors.Is(err, ErrUnsealable) {
		t.Fatal("empty value opened")
	}
	if bytes.Equal(after.Seal(plain, nil), after.Seal(plain, nil)) {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
}

func TestDeriveKey(t *testing.T) {
	a, _ := DeriveKey(newMaster, "a")
	b, _ := DeriveKey(newMaster, "b")
	a2, _ := DeriveKey(newMaster, "a")
	if len(a) != 32 || bytes.Equal(a, b) || !bytes.Equal(a, a2) {
		t.Fatal("DeriveKey is not a per-purpose function of the key")
	}
	if _, err := DeriveKey(newMaster, ""); err == nil {
		t.Fatal("empty purpose accepted")
	}
	if _, err := NewSealer("x"); err == nil {
		t.Fatal("NewSealer without keys")
	}
}
