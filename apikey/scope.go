package apikey

import (
	"errors"
	"fmt"
	"slices"
)

// Scope is a permission a key carries.
type Scope string

// The scopes. Their text is what the CLI, forms and the database use.
const (
	UsersRead  Scope = "users:read"
	UsersWrite Scope = "users:write" // admin-only: creates accounts
	FilesRead  Scope = "files:read"
	FilesWrite Scope = "files:write"
)

// AllScopes returns every scope, in a fixed order (for forms and help).
func AllScopes() []Scope { return []Scope{UsersRead, UsersWrite, FilesRead, FilesWrite} }

// Errors of ParseScope and ParseScopes, wrapped; test with errors.Is.
var (
	// ErrUnknownScope: the text names no scope.
	ErrUnknownScope = errors.New("apikey: unknown scope")
	// ErrAdminOnly: an admin-only scope asked for a key whose owner is
	// not an administrator.
	ErrAdminOnly = errors.New("apikey: scope can be granted only to an administrator's key")
)

// ParseScope returns the scope named s, exactly as written (no case
// folding, no spaces), or an error wrapping ErrUnknownScope.
func ParseScope(s string) (Scope, error) {
	if slices.Contains(AllScopes(), Scope(s)) {
		return Scope(s), nil
	}
	return "", fmt.Errorf("%w %q (want users:read, users:write, files:read or files:write)", ErrUnknownScope, clip(s))
}

// AdminOnly reports whether only an administrator's key may carry s.
func AdminOnly(s Scope) bool { return s == UsersWrite }

// ParseScopes validates the scopes asked for a new key whose owner is, or
// is not, an administrator. It returns them without duplicates, in the
// order of AllScopes. At least one is required; an unknown scope gives
// ErrUnknownScope, an admin-only scope for another owner ErrAdminOnly.
func ParseScopes(names []string, ownerAdmin bool) ([]Scope, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: at least one scope is required", ErrUnknownScope)
	}
	asked := make(map[Scope]bool, len(names))
	for _, n := range names {
		s, err := ParseScope(n)
		if err != nil {
			return nil, err
		}
		if AdminOnly(s) && !ownerAdmin {
			return nil, fmt.Errorf("%w: %s", ErrAdminOnly, s)
		}
		asked[s] = true
	}
	var out []Scope
	for _, s := range AllScopes() {
		if asked[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

// clip bounds what an error quotes of untrusted text.
func clip(s string) string {
	const max = 40
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
