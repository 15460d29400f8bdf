package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bulwarkhq/bulwark/passkey"
)

// Passkeys live in three tables (migration 0010): passkey_users (each
// account's WebAuthn user handle), passkeys (the credentials) and
// passkey_challenges (ceremonies between begin and finish). DB.PasskeyStore
// is the passkey.CredentialStore and passkey.ChallengeStore of the service,
// so every instance sharing the database sees the same challenges and
// counters.

var (
	_ passkey.CredentialStore = PasskeyStore{}
	_ passkey.ChallengeStore  = PasskeyStore{}
)

// PasskeyStore is the database as package passkey sees it: credentials by
// user handle, sign counters, and single-use challenges.
type PasskeyStore struct{ db *DB }

// PasskeyStore returns the database as package passkey's stores.
func (db *DB) PasskeyStore() PasskeyStore { return PasskeyStore{db} }

// Security events of passkeys, shown on the account page with the others.
const (
	EventPasskeyAdded   EventKind = "passkey_added"
	EventPasskeyRemoved EventKind = "passkey_removed"
	EventPasskeyLogin   EventKind = "passkey_login"
	// EventPasskeyCloned is a sign-in refused because the passkey's sign
	// counter did not move forward: a copy of it may be in someone's hands.
	EventPasskeyCloned EventKind = "passkey_clone_detected" // #nosec G101 -- an event name, not a credential
)

// PasskeyHandleLen is the length of the WebAuthn user handles the store
// makes.
const PasskeyHandleLen = 32

// MaxPasskeyName bounds a passkey's name, in characters, as the schema does.
const MaxPasskeyName = 100

// Passkey is a registered passkey as the account page lists it.
type Passkey struct {
	ID         int64 // the public id in the account page's URLs
	UserID     int64
	Name       string
	Credential passkey.Credential
	CreatedAt  time.Time
	LastUsed   time.Time // zero: never used
}

// PasskeyHandle returns the user's WebAuthn user handle, making one the
// first time it is asked for. Two instances asking at once get the same
// handle: the insert keeps whichever came first.
func (db *DB) PasskeyHandle(ctx context.Context, userID int64) ([]byte, error) {
	const op = "passkey handle"
	handle := make([]byte, PasskeyHandleLen)
	rand.Read(handle)
	_, err := db.w.ExecContext(ctx,
		`INSERT INTO passkey_users (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
		userID, handle)
	if err != nil {
		return nil, fail(op, err)
	}
	// Read back through the writer: the reader pool may not see the row yet.
	var stored []byte
	if err := db.w.QueryRowContext(ctx, `SELECT handle FROM passkey_users WHERE user_id = $1`, userID).Scan(&stored); err != nil {
		return nil, fail(op, err)
	}
	return stored, nil
}

// UserByPasskeyHandle returns the user a WebAuthn user handle stands for,
// or ErrNotFound.
func (db *DB) UserByPasskeyHandle(ctx context.Context, handle []byte) (*User, error) {
	if len(handle) != PasskeyHandleLen {
		return nil, fmt.Errorf("store: user by passkey handle: %w", ErrNotFound)
	}
	var id int64
	err := db.r.QueryRowContext(ctx, `SELECT user_id FROM passkey_users WHERE handle = $1`, handle).Scan(&id)
	if err != nil {
		return nil, fail("user by passkey handle", err)
	}
	return db.UserByID(ctx, id)
}

// AddPasskey stores a new passkey of the user under name (1–100
// characters) and sets p.ID and p.CreatedAt. A credential id already
// registered (to anyone) gives ErrDuplicate; an unknown user ErrNotFound.
func (db *DB) AddPasskey(ctx context.Context, p *Passkey) error {
	const op = "add passkey"
	c := p.Credential
	switch {
	case p.UserID <= 0:
		return invalid(op, "owner is required")
	case p.Name == "" || utf8.RuneCountInString(p.Name) > MaxPasskeyName || !textOK(p.Name):
		return invalid(op, "name must be 1–100 characters")
	case len(c.ID) == 0 || len(c.ID) > 1023 || len(c.PublicKey) == 0:
		return invalid(op, "credential id and public key are required")
	case len(c.AAGUID) != 0 && len(c.AAGUID) != 16:
		return invalid(op, "AAGUID must be 16 bytes")
	}
	transports := strings.Join(c.Transports, " ")
	if !textOK(transports) || len(transports) > 200 || !textOK(c.AttestationFormat) || len(c.AttestationFormat) > 64 {
		return invalid(op, "transports or attestation format out of bounds")
	}
	aaguid := c.AAGUID
	if aaguid == nil {
		aaguid = []byte{}
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = now()
	}
	err := db.w.QueryRowContext(ctx,
		`INSERT INTO passkeys (user_id, credential_id, name, public_key, sign_count, aaguid, transports,
		    backup_eligible, backup_state, user_verified, attestation_format, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		p.UserID, c.ID, p.Name, c.PublicKey, int64(c.SignCount), aaguid, transports,
		c.BackupEligible, c.BackupState, c.UserVerified, c.AttestationFormat, db.ts(p.CreatedAt)).Scan(&p.ID)
	if err != nil {
		return fail(op, err)
	}
	p.CreatedAt = p.CreatedAt.UTC().Truncate(time.Microsecond)
	return nil
}

// #nosec G101 -- a column list, not a credential
const passkeyColumns = `p.id, p.user_id, p.name, p.credential_id, u.handle, p.public_key, p.sign_count, p.aaguid,
	p.transports, p.backup_eligible, p.backup_state, p.user_verified, p.attestation_format, p.created_at, p.last_used_at`

func scanPasskey(row interface{ Scan(...any) error }, p *Passkey) error {
	var count int64
	var transports string
	c := &p.Credential
	err := row.Scan(&p.ID, &p.UserID, &p.Name, &c.ID, &c.UserHandle, &c.PublicKey, &count, &c.AAGUID,
		&transports, &c.BackupEligible, &c.BackupState, &c.UserVerified, &c.AttestationFormat,
		timeScanner{&p.CreatedAt}, nullTimeScanner{&p.LastUsed})
	if err != nil {
		return err
	}
	c.SignCount = uint32(count) // #nosec G115 -- the schema's CHECK bounds it to uint32
	c.Transports = strings.Fields(transports)
	return nil
}

// UserPasskeys returns the user's passkeys, oldest first.
func (db *DB) UserPasskeys(ctx context.Context, userID int64) ([]Passkey, error) {
	return db.queryPasskeys(ctx, "list passkeys", `SELECT `+passkeyColumns+`
		FROM passkeys p JOIN passkey_users u ON u.user_id = p.user_id
		WHERE p.user_id = $1 ORDER BY p.created_at, p.id`, userID)
}

// Credentials returns the credentials registered to a WebAuthn user
// handle, for package passkey. They are read through the writer, so a
// sign-in right after a registration or another sign-in sees its writes.
func (s PasskeyStore) Credentials(ctx context.Context, handle []byte) ([]passkey.Credential, error) {
	if len(handle) != PasskeyHandleLen {
		return nil, nil // not a handle this store made: nobody's
	}
	db := s.db
	keys, err := db.queryPasskeysOn(ctx, db.w, "passkey credentials", `SELECT `+passkeyColumns+`
		FROM passkeys p JOIN passkey_users u ON u.user_id = p.user_id
		WHERE u.handle = $1 ORDER BY p.id`, handle)
	if err != nil {
		return nil, err
	}
	out := make([]passkey.Credential, len(keys))
	for i, k := range keys {
		out[i] = k.Credential
	}
	return out, nil
}

func (db *DB) queryPasskeys(ctx context.Context, op, query string, args ...any) ([]Passkey, error) {
	return db.queryPasskeysOn(ctx, db.r, op, query, args...)
}

func (db *DB) queryPasskeysOn(ctx context.Context, p *pool, op, query string, args ...any) ([]Passkey, error) {
	rows, err := p.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var out []Passkey
	for rows.Next() {
		var k Passkey
		if err := scanPasskey(rows, &k); err != nil {
			return nil, fail(op, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(op, err)
	}
	return out, nil
}

// PasskeyByCredentialID returns the passkey with that credential id, or
// ErrNotFound.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error) {
	keys, err := db.queryPasskeysOn(ctx, db.w, "passkey by credential id", `SELECT `+passkeyColumns+`
		FROM passkeys p JOIN passkey_users u ON u.user_id = p.user_id
		WHERE p.credential_id = $1`, credentialID)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("store: passkey by credential id: %w", ErrNotFound)
	}
	return &keys[0], nil
}

// RecordSignIn moves a passkey's sign counter from old to new and notes
// the time, only if the counter is still old, for package passkey: two
// sign-ins racing with one counter value cannot both succeed.
func (s PasskeyStore) RecordSignIn(ctx context.Context, credentialID []byte, old, new uint32, backupState bool) (bool, error) {
	db := s.db
	res, err := db.w.ExecContext(ctx,
		`UPDATE passkeys SET sign_count = $3, backup_state = $4, last_used_at = $5
		 WHERE credential_id = $1 AND sign_count = $2`,
		credentialID, int64(old), int64(new), backupState, db.ts(now()))
	if err != nil {
		return false, fail("record passkey sign-in", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fail("record passkey sign-in", err)
	}
	return n == 1, nil
}

// DeletePasskey removes one of the user's passkeys and returns its name. A
// passkey of another user, like an unknown id, gives ErrNotFound, so
// nobody learns which ids exist.
func (db *DB) DeletePasskey(ctx context.Context, userID, id int64) (string, error) {
	var name string
	err := db.w.QueryRowContext(ctx,
		`DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name`, id, userID).Scan(&name)
	if err != nil {
		return "", fail("delete passkey", err)
	}
	return name, nil
}

// DeleteUserPasskeys removes every passkey of the user and reports how
// many there were.
func (db *DB) DeleteUserPasskeys(ctx context.Context, userID int64) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fail("delete passkeys", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fail("delete passkeys", err)
	}
	return n, nil
}

// challengeKey is how a challenge id is kept: its SHA-256.
func challengeKey(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// maxChallengeState bounds a saved ceremony, as the schema does.
const maxChallengeState = 64 << 10

// Save keeps a begun ceremony's state until expires, for package passkey.
// Expired challenges are deleted on the way, so abandoned ceremonies do
// not pile up.
func (s PasskeyStore) Save(ctx context.Context, id string, state []byte, expires time.Time) error {
	db := s.db
	const op = "save passkey challenge"
	if id == "" || len(state) > maxChallengeState {
		return invalid(op, "id required and state at most 64 KiB")
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM passkey_challenges WHERE expires_at < $1`, db.ts(now())); err != nil {
		return fail(op, err)
	}
	_, err := db.w.ExecContext(ctx,
		`INSERT INTO passkey_challenges (id, state, expires_at) VALUES ($1, $2, $3)`,
		challengeKey(id), state, db.ts(expires))
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// Take returns a saved ceremony's state and deletes it in one statement,
// so that of two requests presenting the same id only one gets it. An
// unknown, taken or expired id gives an error wrapping
// passkey.ErrNoChallenge and ErrNotFound.
func (s PasskeyStore) Take(ctx context.Context, id string) ([]byte, error) {
	db := s.db
	var state []byte
	var expires time.Time
	err := db.w.QueryRowContext(ctx,
		`DELETE FROM passkey_challenges WHERE id = $1 RETURNING state, expires_at`,
		challengeKey(id)).Scan(&state, timeScanner{&expires})
	if errors.Is(err, sql.ErrNoRows) || (err == nil && now().After(expires)) {
		return nil, fmt.Errorf("store: take passkey challenge: %w (%w)", ErrNotFound, passkey.ErrNoChallenge)
	}
	if err != nil {
		return nil, fail("take passkey challenge", err)
	}
	return bytes.Clone(state), nil
}
