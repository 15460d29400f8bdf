package store

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwarkhq/bulwark/session"
)

// SessionIndex is the index of live sessions per user, in the user_sessions
// table: a session.Index the app gives session.New as it is. It holds each
// session's token hash (session.Info.Hash), never a token; the session
// data itself is in scs's store (the sessions table, or Redis), also under
// the hash. It is safe for concurrent use.
type SessionIndex struct{ db *DB }

var _ session.Index = (*SessionIndex)(nil)

// SessionIndex returns the index of sessions kept in db.
func (db *DB) SessionIndex() *SessionIndex { return &SessionIndex{db: db} }

// hashLen is the length of session.Info.Hash: hex SHA-256. The table checks
// it too, so a raw token (43 characters) can never be stored by mistake.
const hashLen = 64

// Add indexes a new session. The hash must be new (else ErrDuplicate) and
// the user must exist (else ErrNotFound). IP and UserAgent are cleaned and
// cut to bounds; a zero CreatedAt is now and a zero LastSeen is CreatedAt.
func (x *SessionIndex) Add(ctx context.Context, s session.Info) error {
	const op = "add session"
	if len(s.Hash) != hashLen || !textOK(s.Hash) || s.UserID <= 0 || s.Expiry.IsZero() {
		return invalid(op, "hash, user and expiry are required")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now()
	}
	if s.LastSeen.IsZero() {
		s.LastSeen = s.CreatedAt
	}
	db := x.db
	_, err := db.w.ExecContext(ctx,
		`INSERT INTO user_sessions (token_hash, user_id, created_at, last_seen, expiry, ip, user_agent)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.Hash, s.UserID, db.ts(s.CreatedAt), db.ts(s.LastSeen), db.ts(s.Expiry),
		clean(s.IP, maxIPRunes), clean(s.UserAgent, maxUserAgentRunes))
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// Has reports whether hash is indexed. The session Manager asks before and
// after it saves a signed-in session, so it reads from the readers: in WAL
// mode they see every committed revocation.
func (x *SessionIndex) Has(ctx context.Context, hash string) (bool, error) {
	var n int
	err := x.db.r.QueryRowContext(ctx, `SELECT count(*) FROM user_sessions WHERE token_hash = $1`, hash).Scan(&n)
	if err != nil {
		return false, fail("has session", err)
	}
	return n > 0, nil
}

// Touch records that a session was used at lastSeen from ip. For a hash
// that is not indexed (the session was revoked) it returns an error
// wrapping session.ErrNotFound. It is a write: the Manager touches at most
// once per TouchInterval.
func (x *SessionIndex) Touch(ctx context.Context, hash string, lastSeen time.Time, ip string) error {
	const op = "touch session"
	res, err := x.db.w.ExecContext(ctx,
		`UPDATE user_sessions SET last_seen = $2, ip = $3 WHERE token_hash = $1`,
		hash, x.db.ts(lastSeen), clean(ip, maxIPRunes))
	if err != nil {
		return fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(op, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, session.ErrNotFound)
	}
	return nil
}

// Remove drops a session from the index. Removing a session that is not
// there is not an error.
func (x *SessionIndex) Remove(ctx context.Context, hash string) error {
	if _, err := x.db.w.ExecContext(ctx, `DELETE FROM user_sessions WHERE token_hash = $1`, hash); err != nil {
		return fail("remove session", err)
	}
	return nil
}

// List returns a user's sessions that expire after now, newest first.
func (x *SessionIndex) List(ctx context.Context, userID int64, now time.Time) ([]session.Info, error) {
	const op = "list sessions"
	rows, err := x.db.r.QueryContext(ctx,
		`SELECT token_hash, user_id, created_at, last_seen, expiry, ip, user_agent FROM user_sessions
		 WHERE user_id = $1 AND expiry > $2 ORDER BY created_at DESC, token_hash`,
		userID, x.db.ts(now))
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var list []session.Info
	for rows.Next() {
		var s session.Info
		if err := rows.Scan(&s.Hash, &s.UserID, timeScanner{&s.CreatedAt}, timeScanner{&s.LastSeen},
			timeScanner{&s.Expiry}, &s.IP, &s.UserAgent); err != nil {
			return nil, fail(op, err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(op, err)
	}
	return list, nil
}

// RemoveAll drops every session of a user, expired ones included, and
// returns their hashes so that the caller can delete them from the session
// store.
func (x *SessionIndex) RemoveAll(ctx context.Context, userID int64) ([]string, error) {
	const op = "remove user sessions"
	rows, err := x.db.w.QueryContext(ctx,
		`DELETE FROM user_sessions WHERE user_id = $1 RETURNING token_hash`, userID)
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fail(op, err)
		}
		hashes = append(hashes, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(op, err)
	}
	return hashes, nil
}

// PruneSessions drops the index entries of sessions that expired at or
// before now. (scs's stores expire their own data.)
func (db *DB) PruneSessions(ctx context.Context, now time.Time) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM user_sessions WHERE expiry <= $1`, db.ts(now)); err != nil {
		return fail("prune sessions", err)
	}
	return nil
}
