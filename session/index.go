package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrNotFound means there is no such session: Manager.Revoke returns it for
// a session that is not the user's, and an [Index] wraps it when asked to
// touch a hash it does not hold.
var ErrNotFound = errors.New("session: no such session")

// Info describes one live session of a user, as the [Index] keeps it.
type Info struct {
	// Hash is the hex SHA-256 of the session token (64 lowercase hex
	// characters): the name under which the session is stored and indexed.
	// It cannot be turned back into the token, but pages show ID instead.
	Hash      string
	UserID    int64
	CreatedAt time.Time
	LastSeen  time.Time
	Expiry    time.Time // the absolute end of the session
	IP        string
	UserAgent string
	// Current marks the session of the request that asked. It is set by
	// Manager.Sessions; an Index ignores it.
	Current bool
}

// ID returns the session's public identifier, for pages and URLs such as
// /account/sessions/{id}/revoke: the first 16 bytes of the token's hash, in
// hex. This is the only definition of it.
func (s Info) ID() string { return publicID(s.Hash) }

func publicID(hash string) string {
	if len(hash) < 32 {
		return ""
	}
	return hash[:32]
}

// hashToken returns the name a session is stored and indexed under. A plain
// hash suffices (no key, no salt): tokens are 256 random bits, so there is
// nothing to guess from the hash, and every instance computes the same name
// without sharing a secret.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Index records which sessions belong to which user, so that they can be
// listed and revoked on whatever store holds the session data. It holds
// only hashes of tokens, never the tokens. Implementations must be safe for
// concurrent use; [NewMemoryIndex] is one for a single process, and the
// sessiontest package checks an implementation against this contract.
type Index interface {
	// Add records a new signed-in session. It returns an error if the
	// session cannot be recorded, including when s.Hash is already
	// indexed; the Manager then refuses the sign-in.
	Add(ctx context.Context, s Info) error

	// Has reports whether hash is indexed. It is false for a hash that was
	// removed or never added; an error means the index could not answer.
	// The Manager asks before and after it writes a signed-in session back
	// to the store, so a revoked session stays revoked.
	Has(ctx context.Context, hash string) (bool, error)

	// Touch records that the session was used at lastSeen from ip. For a
	// hash that is not indexed (the session was revoked, perhaps by another
	// instance) it returns an error wrapping ErrNotFound, and the Manager
	// ends the session.
	Touch(ctx context.Context, hash string, lastSeen time.Time, ip string) error

	// Remove forgets the session. Removing a hash that is not indexed is
	// not an error.
	Remove(ctx context.Context, hash string) error

	// List returns userID's sessions whose Expiry is after now, and only
	// that user's, in any order.
	List(ctx context.Context, userID int64, now time.Time) ([]Info, error)

	// RemoveAll forgets every session of userID, expired ones included, and
	// returns the hashes it removed, so that the caller can delete them from
	// the session store.
	RemoveAll(ctx context.Context, userID int64) ([]string, error)
}

// MaxUserAgent bounds a kept User-Agent, in bytes.
const MaxUserAgent = 256

// CleanUserAgent makes a client's User-Agent safe to keep and show: valid
// UTF-8 (PostgreSQL refuses anything else, which would make Login fail), no
// control characters, at most MaxUserAgent bytes cut on a rune boundary.
// Sessions keep it in this form; an application recording the User-Agent
// elsewhere (security events) can use the same rule.
func CleanUserAgent(ua string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(ua, "\uFFFD") {
		if unicode.IsControl(r) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > MaxUserAgent {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
