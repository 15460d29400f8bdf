package session_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/session"
)

// atRestCases check finding 7: what a backend holds never includes a
// session token, so a leaked dump or snapshot signs no one in.
var atRestCases = []testCase{
	// (Make hashedStore.FindCtx and CommitCtx pass the token through
	// unhashed to see this fail.)
	{"tokens are never stored, only their hashes", func(t *testing.T, st stored) {
		a, spy := setup(t, st, session.NewMemoryIndex(), secureCfg())
		A, B, C := newBrowser(t, a, cookieSecure), newBrowser(t, a, cookieSecure), newBrowser(t, a, cookieSecure)
		B.do("GET", "/put?v=anonymous") // an anonymous session
		A.login(1)
		A.do("GET", "/put?v=signed-in")
		C.login(1)
		A.do("POST", "/password") // renews A, ends C
		C.login(1)
		var tokens []string
		for _, b := range []*browser{A, B, C} {
			tokens = append(tokens, *b.tokens...)
		}
		if len(tokens) < 5 {
			t.Fatalf("only %d tokens issued", len(tokens))
		}
		dump := st.dump(t)
		for _, tok := range tokens {
			if strings.Contains(dump, tok) {
				t.Errorf("the %s backend holds the token %q", t.Name(), tok)
			}
		}
		// The dump is not blind: the live sessions are there, by hash.
		for _, b := range []*browser{A, B, C} {
			sum := sha256.Sum256([]byte(b.token()))
			if !strings.Contains(dump, hex.EncodeToString(sum[:])) {
				t.Errorf("the dump lacks the hash of a live session: the check above proves nothing")
			}
		}
		// Every name the store was ever asked about is a hash.
		for _, name := range spy.seen() {
			if !hashName.MatchString(name) {
				t.Errorf("the store was asked about %q, which is not a hash", name)
			}
		}
	}},
}
