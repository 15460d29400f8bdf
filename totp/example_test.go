package totp_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/bulwarkhq/bulwark/totp"
)

// Setting up an authenticator app, then checking its codes at sign-in,
// each code once.
func Example() {
	// Set-up: show key.PNG(256) (or key.Secret() as text) to the user, and
	// keep key.Secret() encrypted until they confirm with a first code.
	key, err := totp.Generate("Example", "ann@example.com")
	if err != nil {
		panic(err)
	}

	// Sign-in: lastStep is what the account stored at its last success.
	var lastStep uint64
	now := time.Now()
	code, _ := totp.GenerateCode(key.Secret(), now) // what the app shows
	step, err := totp.Validate(key.Secret(), code, lastStep, now)
	fmt.Println("first use:", err)
	lastStep = step // store it, only if still greater than the stored one

	_, err = totp.Validate(key.Secret(), code, lastStep, now)
	fmt.Println("second use refused:", errors.Is(err, totp.ErrReplayed))
	// Output:
	// first use: <nil>
	// second use refused: true
}

// Recovery codes are shown once and stored hashed, by their canonical form.
func ExampleParseRecoveryCode() {
	code, err := totp.ParseRecoveryCode("K7D2M QX4PA")
	fmt.Println(code, err)
	// Output: k7d2mqx4pa <nil>
}
