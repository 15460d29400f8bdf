package app

import (
	"testing"

	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/password"
)

// FuzzImportLine: a line is either a valid user or refused with a reason
// that never repeats the hash.
func FuzzImportLine(f *testing.F) {
	f.Add(`{"email":"a@example.com","name":"A","password_hash":"pbkdf2:sha1:1000$xw7xTQef334dn9dB$b16b1fba163806a10645438830b9abeaeb8611f0"}`)
	f.Add(`{"email":"a@example.com","name":"A","bio":null,"password_hash":"$2b$10$MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm"}`)
	f.Add(`{"email":"a@example.com","name":"A","password_hash":"x","extra":1}`)
	f.Add(`{"email":"a@example.com","email":"b@example.com","name":"A","password_hash":"x"}`)
	f.Add(`[]`)
	hasher := password.NewHasher(password.Options{})
	f.Fuzz(func(t *testing.T, line string) {
		u, why := parseImportLine(hasher, line)
		if (u == nil) == (why == "") {
			t.Fatalf("parseImportLine(%q) = %v, %q", line, u, why)
		}
		if u == nil {
			return
		}
		_, nameErr := web.Name("name", u.Name)
		_, bioErr := web.Bio("bio", u.Bio)
		if nameErr != nil || bioErr != nil || hasher.ValidateHash(u.PasswordHash) != nil {
			t.Fatalf("accepted an invalid user: %+v", u)
		}
	})
}
