package password

import (
	"strings"
	"testing"
)

// BenchmarkHash measures one argon2id hash with the default (OWASP)
// parameters: the cost of a registration or a password change.
func BenchmarkHash(b *testing.B) {
	h := NewHasher(Options{})
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures one sign-in against each stored form, with the
// parameters of the test vectors (their makers' defaults).
func BenchmarkVerify(b *testing.B) {
	h := NewHasher(Options{})
	own, err := h.Hash(b.Context(), "secure_password")
	if err != nil {
		b.Fatal(err)
	}
	forms := []struct{ name, hash string }{{"argon2id-default", own}}
	seen := map[string]bool{}
	for _, v := range loadVectors(b) {
		name := formName(v.Hash)
		if v.Password != "secure_password" || seen[name] {
			continue
		}
		seen[name] = true
		forms = append(forms, struct{ name, hash string }{name, v.Hash})
	}
	for _, f := range forms {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				if ok, err := h.Verify(b.Context(), "secure_password", f.hash); !ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// BenchmarkVerifyDummy is the cost of answering a sign-in for an unknown
// account; it should match BenchmarkVerify/argon2id-default.
func BenchmarkVerifyDummy(b *testing.B) {
	h := NewHasher(Options{})
	for b.Loop() {
		if err := h.VerifyDummy(b.Context(), "secure_password"); err != nil {
			b.Fatal(err)
		}
	}
}

// formName names a stored hash by its scheme and parameters, such as
// "pbkdf2-sha256-260000", "bcrypt-2b-10" or "argon2id-m=102400,t=2,p=8".
func formName(enc string) string {
	if strings.HasPrefix(enc, "$2") {
		return "bcrypt-" + enc[1:3] + "-" + enc[4:6]
	}
	if strings.HasPrefix(enc, "$argon2") {
		f := strings.Split(enc, "$")
		return f[1] + "-" + f[3]
	}
	method, _, _ := strings.Cut(enc, "$")
	return strings.ReplaceAll(method, ":", "-")
}
