package password

import (
	"errors"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary stored hashes and passwords to every parser.
// The Hasher uses tiny work bounds, so whatever the fuzzer builds is either
// refused or verified in about a millisecond: it never runs the expensive
// derivations the real vectors ask for (those are refused here, which
// still exercises their parsing).
func FuzzVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.Password, v.Hash)
	}
	for _, enc := range cheapHashes(f, "secure_password") {
		f.Add("secure_password", enc)
		f.Add("wrong", enc)
	}
	for _, enc := range []string{
		"", "$", "$$$$$", "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAA$AAAAAA",
		"$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAA",
		"scrypt:1073741824:8:1$salt$00", "pbkdf2:sha256$s$00", "pbkdf2:sha1:1$s$" + strings.Repeat("00", 20),
		"$2b$31$MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm",
	} {
		f.Add("pw", enc)
	}

	h := NewHasher(Options{Params: fastParams})
	h.limits = tinyLimits()
	f.Fuzz(func(t *testing.T, password, encoded string) {
		ok, err := h.Verify(t.Context(), password, encoded)
		if err != nil && ok {
			t.Fatalf("Verify = true with error %v", err)
		}
		verr := h.ValidateHash(encoded)
		if err == nil && verr != nil {
			t.Fatalf("Verify succeeded but ValidateHash = %v", verr)
		}
		if verr != nil && !errors.Is(verr, ErrMalformed) && !errors.Is(verr, ErrUnsupported) {
			t.Fatalf("ValidateHash error %v is neither ErrMalformed nor ErrUnsupported", verr)
		}
		if err != nil && verr == nil && !errors.Is(err, ErrTooLong) {
			t.Fatalf("valid hash, yet Verify = %v", err)
		}

		rehash := h.NeedsRehash(encoded)
		if a, err := parseArgon2(encoded); err == nil {
			// Strict parsing: only the canonical form is read.
			if got := a.String(); got != encoded {
				t.Fatalf("parseArgon2(%q) encodes back as %q", encoded, got)
			}
			if !rehash && (a.variant != argon2id || a.params != h.params) {
				t.Fatalf("NeedsRehash = false for %q", encoded)
			}
		} else if !rehash {
			t.Fatalf("NeedsRehash = false for unreadable %q", encoded)
		}
	})
}
