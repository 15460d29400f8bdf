package apikey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Key is a stored API key: everything but the key itself.
type Key struct {
	ID        string   // the public id (IDLen base62 characters)
	UserID    int64    // the owner
	Admin     bool     // whether the owner is an administrator now
	Name      string   // the owner's label, 1–100 characters
	Hash      [32]byte `json:"-"` // Hash of the whole key
	Scopes    []Scope
	CreatedAt time.Time
	LastUsed  time.Time // zero: never used
	ExpiresAt time.Time // zero: never expires
	RevokedAt time.Time // zero: not revoked
}

// Has reports whether the key carries scope s. An admin-only scope counts
// only while the owner is an administrator, so taking away a user's admin
// right takes it from their keys as well.
func (k *Key) Has(s Scope) bool {
	if AdminOnly(s) && !k.Admin {
		return false
	}
	return slices.Contains(k.Scopes, s)
}

// Expired reports whether the key has expired at now.
func (k *Key) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// Revoked reports whether the key has been revoked.
func (k *Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// ErrNotFound is what a Store's KeyByID wraps for an unknown id.
var ErrNotFound = errors.New("apikey: key not found")

// Store is where keys are kept. KeyByID is called once per authenticated
// request, so it should be an indexed read; TouchKey at most once per
// Options.TouchInterval per key.
type Store interface {
	// KeyByID returns the key with that public id, revoked and expired
	// ones included, with Admin set from its owner, as a new value the
	// caller may keep and change. For an unknown id the error wraps
	// ErrNotFound.
	KeyByID(ctx context.Context, id string) (*Key, error)
	// TouchKey records that the key was used at the given time.
	TouchKey(ctx context.Context, id string, at time.Time) error
}

// Why a request was refused: the error given to Options.ErrorHandler wraps
// one of these (test with errors.Is).
var (
	// ErrMissing: the request carries no key. Answer 401.
	ErrMissing = errors.New("apikey: no API key given")
	// ErrInvalid: the key is malformed, unknown, wrong, expired or revoked.
	// It is one error for all of these so that the answer is no oracle.
	// Answer 401.
	ErrInvalid = errors.New("apikey: invalid API key")
	// ErrForbidden: the key lacks the scope the route requires (the error
	// is a *ScopeError). Answer 403.
	ErrForbidden = errors.New("apikey: scope not granted")
	// ErrUnavailable: the Store failed; the error also wraps the Store's.
	// Answer 503: the request is refused, never let through.
	ErrUnavailable = errors.New("apikey: key store unavailable")
)

// ScopeError is the error for a key that lacks a required scope. It wraps
// ErrForbidden.
type ScopeError struct {
	Scope Scope // the scope the route requires
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("apikey: the key lacks the scope %s", e.Scope)
}

// Unwrap returns ErrForbidden.
func (e *ScopeError) Unwrap() error { return ErrForbidden }

type contextKey struct{}

// NewContext returns a copy of ctx that carries k, as Authenticator.Handler
// does after a successful check (for tests of handlers behind it).
func NewContext(ctx context.Context, k *Key) context.Context {
	return context.WithValue(ctx, contextKey{}, k)
}

// FromContext returns the key that authenticated the request, if any.
func FromContext(ctx context.Context) (*Key, bool) {
	k, ok := ctx.Value(contextKey{}).(*Key)
	return k, ok && k != nil
}
