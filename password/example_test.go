package password_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bulwarkhq/bulwark/password"
)

func ExampleHasher() {
	ctx := context.Background()
	h := password.NewHasher(password.Options{}) // OWASP argon2id parameters

	encoded, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$"))

	ok, err := h.Verify(ctx, "correct horse battery staple", encoded)
	fmt.Println(ok, err)
	ok, err = h.Verify(ctx, "correct horse battery stapler", encoded)
	fmt.Println(ok, err)
	// Output:
	// true
	// true <nil>
	// false <nil>
}

// Signing in: verify, answer unknown accounts with the same work, and
// upgrade a hash imported from a Flask app once the password is known.
func ExampleHasher_Verify() {
	ctx := context.Background()
	h := password.NewHasher(password.Options{})

	// Stored by Werkzeug 2.2's generate_password_hash.
	stored := "pbkdf2:sha256:260000$PPDcgRAGkWSts6yf$be7c94cd1ec286b3699ea3da349b4a21f345ba01693d5c69525a2c73a127e44e"
	accountExists := true
	typed := "secure_password"

	if !accountExists {
		// Same cost as a real check, so timing does not reveal the account.
		err := h.VerifyDummy(ctx, typed)
		fmt.Println("401", err)
		return
	}
	ok, err := h.Verify(ctx, typed, stored)
	switch {
	case errors.Is(err, password.ErrBusy):
		fmt.Println("503, Retry-After: 1")
		return
	case err != nil:
		fmt.Println("500: unreadable stored hash")
		return
	case !ok:
		fmt.Println("401")
		return
	}
	if h.NeedsRehash(stored) {
		upgraded, err := h.Hash(ctx, typed)
		if err == nil {
			stored = upgraded // save it in place of the old hash
		}
	}
	fmt.Println("signed in; now stored as", stored[:len("$argon2id")])
	// Output:
	// signed in; now stored as $argon2id
}
