package password

import (
	"strings"
	"testing"
)

// TestVectors checks compatibility against hashes made by the real Flask
// stack (Werkzeug, python bcrypt, argon2-cffi), not against our reading of
// their formats. The vectors run one after another: the argon2-cffi ones
// take 100 MiB each. With -short, one vector of each form runs.
func TestVectors(t *testing.T) {
	h := NewHasher(Options{MaxConcurrent: 1})
	seen := map[string]bool{}
	for i, v := range loadVectors(t) {
		form := formName(v.Hash)
		if testing.Short() && seen[form] {
			continue
		}
		seen[form] = true
		t.Run(v.MadeBy, func(t *testing.T) {
			if err := h.ValidateHash(v.Hash); err != nil {
				t.Fatalf("vector %d: ValidateHash: %v", i, err)
			}
			ok, err := h.Verify(t.Context(), v.Password, v.Hash)
			if err != nil || !ok {
				t.Errorf("vector %d: Verify(password) = %v, %v; want true, nil", i, ok, err)
			}
			ok, err = h.Verify(t.Context(), v.WrongPassword, v.Hash)
			if err != nil || ok {
				t.Errorf("vector %d: Verify(wrong_password) = %v, %v; want false, nil", i, ok, err)
			}
			if !h.NeedsRehash(v.Hash) {
				t.Errorf("vector %d: NeedsRehash = false; legacy and foreign hashes must be upgraded", i)
			}
		})
	}
}

// Werkzeug never writes "pbkdf2:sha256$…" without a count, but reads it
// with its default. The vectors' "no iterations" hashes were made by 2.2,
// whose default was 260000: without ":260000" they must still verify.
func TestPBKDF2WithoutIterationCount(t *testing.T) {
	h := NewHasher(Options{})
	v := vectorMadeBy(t, "werkzeug pbkdf2:sha256 (no iterations: werkzeug default applies)")
	bare := strings.Replace(v.Hash, "pbkdf2:sha256:260000$", "pbkdf2:sha256$", 1)
	if bare == v.Hash {
		t.Fatalf("vector %q is not pbkdf2:sha256:260000", v.Hash)
	}
	ok, err := h.Verify(t.Context(), v.Password, bare)
	if err != nil || !ok {
		t.Fatalf("Verify(%q) = %v, %v; want true", bare, ok, err)
	}
	if ok, _ := h.Verify(t.Context(), v.WrongPassword, bare); ok {
		t.Fatal("wrong password verified")
	}
}

// A bare "scrypt" method means Werkzeug 3's defaults, N=2^15 r=8 p=1.
func TestScryptWithoutParameters(t *testing.T) {
	h := NewHasher(Options{})
	v := vectorMadeBy(t, "werkzeug 3.x default scrypt:32768:8:1")
	bare := strings.Replace(v.Hash, "scrypt:32768:8:1$", "scrypt$", 1)
	ok, err := h.Verify(t.Context(), v.Password, bare)
	if err != nil || !ok {
		t.Fatalf("Verify(%q) = %v, %v; want true", bare, ok, err)
	}
}

// python bcrypt 3.2 read only the first 72 bytes, so whatever follows them
// was never part of the hash: a user who signed in with their whole
// 100-byte password in the Flask app must still get in. x/crypto/bcrypt
// refuses to hash more than 72 bytes; we truncate as the maker did.
func TestBcryptReadsFirst72BytesLikeItsMaker(t *testing.T) {
	h := NewHasher(Options{})
	var v vector
	for _, c := range loadVectors(t) {
		if len(c.Password) == 100 && strings.HasPrefix(c.Hash, "$2b$") {
			v = c
		}
	}
	if v.Hash == "" {
		t.Fatal("no 100-byte bcrypt vector")
	}
	for _, pw := range []string{v.Password, v.Password[:72], v.Password[:72] + "anything after byte 72"} {
		if ok, err := h.Verify(t.Context(), pw, v.Hash); err != nil || !ok {
			t.Errorf("Verify(%d bytes) = %v, %v; want true", len(pw), ok, err)
		}
	}
	if ok, _ := h.Verify(t.Context(), v.Password[:71], v.Hash); ok {
		t.Error("71 bytes verified; only the 72-byte cut is the maker's")
	}
	// python bcrypt raises on NUL, so no password with one ever matched
	// (a C implementation would stop reading at the NUL).
	if ok, _ := h.Verify(t.Context(), v.Password[:72]+"\x00", v.Hash); ok {
		t.Error("password with NUL verified")
	}
}

// argon2-cffi's PHC strings parse and encode back to exactly themselves.
func TestArgon2ParseRoundTrip(t *testing.T) {
	for _, v := range loadVectors(t) {
		if !strings.HasPrefix(v.Hash, "$argon2") {
			continue
		}
		a, err := parseArgon2(v.Hash)
		if err != nil {
			t.Fatalf("parseArgon2(%q): %v", v.Hash, err)
		}
		if got := a.String(); got != v.Hash {
			t.Errorf("round trip: got %q, want %q", got, v.Hash)
		}
	}
}
