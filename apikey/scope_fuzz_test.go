package apikey_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/apikey"
)

// FuzzParseScopes feeds ParseScopes any list of scope names, as the form's
// repeated "scope" fields and the CLI's --scope flags bring them. What it
// accepts is a non-empty list of known scopes, without duplicates, in
// AllScopes order, and never users:write for a key whose owner is not an
// administrator; what it refuses wraps ErrUnknownScope or ErrAdminOnly.
func FuzzParseScopes(f *testing.F) {
	f.Add("users:read,files:write", false)
	f.Add("users:write", false)
	f.Add("users:write,users:read,users:write", true)
	f.Add("USERS:READ", true)
	f.Add(" files:read", false)
	f.Add("", false)
	f.Add(",,", true)
	f.Add("files:read,\x00", false)
	f.Fuzz(func(t *testing.T, list string, admin bool) {
		var names []string
		if list != "" {
			names = strings.Split(list, ",")
		}
		got, err := apikey.ParseScopes(names, admin)
		if err != nil {
			if !errors.Is(err, apikey.ErrUnknownScope) && !errors.Is(err, apikey.ErrAdminOnly) {
				t.Fatalf("ParseScopes(%q, %v): %v", names, admin, err)
			}
			return
		}
		if len(got) == 0 {
			t.Fatalf("ParseScopes(%q, %v) accepted no scope", names, admin)
		}
		all := apikey.AllScopes()
		last := -1
		for _, s := range got {
			i := slices.Index(all, s)
			if i <= last {
				t.Fatalf("ParseScopes(%q, %v) = %q: unknown, repeated or out of order", names, admin, got)
			}
			last = i
			if apikey.AdminOnly(s) && !admin {
				t.Fatalf("ParseScopes(%q, false) granted %s", names, s)
			}
			if !slices.Contains(names, string(s)) {
				t.Fatalf("ParseScopes(%q, %v) = %q: %s was not asked for", names, admin, got, s)
			}
		}
	})
}
