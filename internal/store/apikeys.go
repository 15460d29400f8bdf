package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
)

// The API keys live in the api_keys table (migration 0004): the public id,
// the owner, a name, the SHA-256 of the whole key (never the key), the
// scopes and four times. *DB is the apikey.Store the middleware reads on
// every API request: KeyByID is one primary-key read from the reader pool,
// and there is no cache, so a revocation holds on every instance at the
// next request.

var _ apikey.Store = (*DB)(nil)

// #nosec G101 -- a column list, not a credential
const apiKeyColumns = `k.id, k.user_id, u.admin, k.name, k.hash, k.scopes, k.created_at, k.last_used_at, k.expires_at, k.revoked_at`

// CreateAPIKey stores k, whose ID, UserID, Name, Hash and Scopes are set
// (ExpiresAt zero: never), and sets k.CreatedAt (if zero), k.Admin and
// k.Scopes (without repeats, in the order of apikey.AllScopes). The scopes
// must be known and an admin-only scope needs an administrator owner (else
// ErrInvalid); an unknown owner gives ErrNotFound, an id already taken
// ErrDuplicate (generate another).
func (db *DB) CreateAPIKey(ctx context.Context, k *apikey.Key) error {
	const op = "create API key"
	switch {
	case !apikey.ValidID(k.ID):
		return invalid(op, "id must be 8 base62 characters")
	case k.UserID <= 0:
		return invalid(op, "owner is required")
	case !textOK(k.Name):
		return invalid(op, "name must be UTF-8 without NUL bytes")
	case k.Hash == [32]byte{}:
		return invalid(op, "hash is required")
	}
	norm, scopes, adminOnly, err := encodeScopes(k.Scopes)
	if err != nil {
		return invalid(op, err.Error())
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now()
	}
	var admin bool
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT admin FROM users WHERE id = $1`, k.UserID).Scan(&admin); err != nil {
			return err
		}
		if adminOnly && !admin {
			// The last line behind apikey.ParseScopes; apikey.Key.Has
			// checks the owner's admin right again at every request.
			return fmt.Errorf("an admin-only scope needs an administrator owner: %w", ErrInvalid)
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO api_keys (id, user_id, name, hash, scopes, created_at, expires_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.ID, k.UserID, k.Name, k.Hash[:], scopes, db.ts(k.CreatedAt), db.tsOrNull(k.ExpiresAt))
		return err
	})
	if err != nil {
		return fail(op, err)
	}
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Microsecond)
	k.Admin, k.Scopes = admin, norm
	return nil
}

// encodeScopes checks scopes and returns them as stored: without
// repeats, in the order of apikey.AllScopes, space-separated.
func encodeScopes(scopes []apikey.Scope) (norm []apikey.Scope, text string, adminOnly bool, err error) {
	if len(scopes) == 0 {
		return nil, "", false, errors.New("at least one scope is required")
	}
	for _, s := range scopes {
		if _, err := apikey.ParseScope(string(s)); err != nil {
			return nil, "", false, errors.New("unknown scope")
		}
	}
	var names []string
	for _, s := range apikey.AllScopes() {
		if slices.Contains(scopes, s) {
			norm = append(norm, s)
			names = append(names, string(s))
			adminOnly = adminOnly || apikey.AdminOnly(s)
		}
	}
	return norm, strings.Join(names, " "), adminOnly, nil
}

// decodeScopes reads the scopes column. A name no longer known (a scope
// removed in a later release) grants nothing and is dropped.
func decodeScopes(text string) []apikey.Scope {
	var out []apikey.Scope
	for _, name := range strings.Fields(text) {
		if s, err := apikey.ParseScope(name); err == nil {
			out = append(out, s)
		}
	}
	return out
}

func scanAPIKey(row interface{ Scan(...any) error }, k *apikey.Key) error {
	var hash []byte
	var scopes string
	err := row.Scan(&k.ID, &k.UserID, &k.Admin, &k.Name, &hash, &scopes, timeScanner{&k.CreatedAt},
		nullTimeScanner{&k.LastUsed}, nullTimeScanner{&k.ExpiresAt}, nullTimeScanner{&k.RevokedAt})
	if err != nil {
		return err
	}
	if len(hash) != len(k.Hash) {
		return fmt.Errorf("store: API key %s has a %d-byte hash", k.ID, len(hash))
	}
	copy(k.Hash[:], hash)
	k.Scopes = decodeScopes(scopes)
	return nil
}

// KeyByID returns the key with that public id, revoked and expired ones
// included, with Admin set from its owner. For an unknown id the error wraps
// both ErrNotFound and apikey.ErrNotFound. It reads from the readers: in
// WAL mode they see every committed revocation.
func (db *DB) KeyByID(ctx context.Context, id string) (*apikey.Key, error) {
	const op = "API key by id"
	if !apikey.ValidID(id) {
		return nil, fmt.Errorf("store: %s: %w (%w)", op, ErrNotFound, apikey.ErrNotFound)
	}
	var k apikey.Key
	err := scanAPIKey(db.r.QueryRowContext(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1`, id), &k)
	if err != nil {
		if err = classify(err); errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("store: %s: %w (%w)", op, ErrNotFound, apikey.ErrNotFound)
		}
		return nil, fmt.Errorf("store: %s: %w", op, err)
	}
	return &k, nil
}

// TouchKey records that a key was used at. It only moves the time forward,
// so instances racing each other cannot set it back. An unknown id is not
// an error. apikey.Authenticator calls it at most once a minute per key.
func (db *DB) TouchKey(ctx context.Context, id string, at time.Time) error {
	_, err := db.w.ExecContext(ctx,
		`UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`,
		id, db.ts(at))
	if err != nil {
		return fail("touch API key", err)
	}
	return nil
}

// UserAPIKeys returns every key of a user, revoked and expired ones
// included, newest first, without their hashes.
func (db *DB) UserAPIKeys(ctx context.Context, userID int64) ([]apikey.Key, error) {
	const op = "list API keys"
	rows, err := db.r.QueryContext(ctx,
		`SELECT `+apiKeyColumns+` FROM api_keys k JOIN users u ON u.id = k.user_id
		 WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id`, userID)
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var keys []apikey.Key
	for rows.Next() {
		var k apikey.Key
		if err := scanAPIKey(rows, &k); err != nil {
			return nil, fail(op, err)
		}
		k.Hash = [32]byte{}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(op, err)
	}
	return keys, nil
}

// RevokeAPIKey revokes one of a user's keys. A key of another user, like
// an unknown one, gives ErrNotFound, so nobody can learn which ids exist.
// Revoking a revoked key again succeeds and keeps the first time.
func (db *DB) RevokeAPIKey(ctx context.Context, userID int64, id string) error {
	if !apikey.ValidID(id) { // no key has such an id, and PostgreSQL refuses NUL in text
		return fmt.Errorf("store: revoke API key: %w", ErrNotFound)
	}
	return db.updateOne(ctx, "revoke API key",
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND user_id = $2`,
		id, userID, db.ts(now()))
}

// RevokeAPIKeyByID revokes a key whoever owns it (the administration
// command), or gives ErrNotFound.
func (db *DB) RevokeAPIKeyByID(ctx context.Context, id string) error {
	if !apikey.ValidID(id) {
		return fmt.Errorf("store: revoke API key: %w", ErrNotFound)
	}
	return db.updateOne(ctx, "revoke API key",
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`,
		id, db.ts(now()))
}

// tsOrNull is ts, with the zero time as NULL.
func (db *DB) tsOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.ts(t)
}

// nullTimeScanner reads a nullable timestamp column: NULL is the zero time.
type nullTimeScanner struct{ t *time.Time }

func (s nullTimeScanner) Scan(src any) error {
	if src == nil {
		*s.t = time.Time{}
		return nil
	}
	return timeScanner(s).Scan(src)
}
