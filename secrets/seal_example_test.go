package secrets_test

import (
	"fmt"

	"github.com/bulwarkhq/bulwark/secrets"
)

// Keeping a TOTP secret encrypted in a database row, across a SECRET_KEY
// rotation.
func ExampleSealer() {
	oldKey := []byte("an old SECRET_KEY of at least 32 bytes....")
	newKey := []byte("the new SECRET_KEY of at least 32 bytes....")

	s, _ := secrets.NewSealer("totp secret", oldKey)
	row := s.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("user:42")) // store row

	// After the rotation: SECRET_KEY=new, SECRET_KEY_FALLBACKS=old.
	s, _ = secrets.NewSealer("totp secret", newKey, oldKey)
	secret, stale, err := s.Open(row, []byte("user:42"))
	fmt.Println(string(secret), stale, err)
	if stale {
		row = s.Seal(secret, []byte("user:42")) // store it again under the new key
	}
	_ = row
	// Output: JBSWY3DPEHPK3PXP true <nil>
}
