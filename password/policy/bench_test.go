package policy

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkPolicyCheck shows the cost of zxcvbn on a long password, which
// the 100-character sample keeps near that of a short one.
func BenchmarkPolicyCheck(b *testing.B) {
	for _, n := range []int{20, 256} {
		pw := strings.Repeat("copper kettle whistles at dawn near the quiet harbour; ", 10)[:n]
		b.Run(fmt.Sprintf("%d-chars", n), func(b *testing.B) {
			for b.Loop() {
				_ = Policy{}.Check(pw, "alice@example.com", "Alice Smith")
			}
		})
	}
}
