package policy_test

import (
	"errors"
	"fmt"

	"github.com/bulwarkhq/bulwark/password/policy"
)

func ExamplePolicy_Check() {
	var p policy.Policy // NIST SP 800-63B-4 defaults: at least 15 characters
	email, name := "alice.smith@example.com", "Alice Smith"
	for _, pw := range []string{
		"hunter2",
		"passwordpassword",
		"AliceSmith-2024-rocks",
		"copper kettle whistles at dawn",
	} {
		if err := p.Check(pw, email, name); err != nil {
			var pe *policy.Error
			if errors.As(err, &pe) {
				fmt.Println(pe.Reason) // safe to show the user
			}
			continue
		}
		fmt.Println("accepted")
	}
	// Output:
	// Use at least 15 characters.
	// This password is too common or easy to guess; a few unrelated words work well.
	// Don't use your name or email in your password.
	// accepted
}
