package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// SessionInfo is one entry of the index of live sessions per user. The
// session data itself is in scs's store (the sessions table, or Redis); the
// index is what lets a user see their sessions and sign out everywhere.
type SessionInfo struct {
	// Token is the session token: a secret. It never leaves the server.
	Token string
	// ID is a public handle for the session, derived from the token (see
	// SessionID), for pages and URLs such as /account/sessions/{id}/revoke.
	// Set by the store; ignored by AddSession.
	ID        string
	UserID    int64
	CreatedAt time.Time // set to now when zero
	LastSeen  time.Time // set to CreatedAt when zero
	Expiry    time.Time // required: the session's absolute end
	IP        string
	UserAgent string
}

// SessionID returns the public handle of a session token: the first 16 bytes
// of its SHA-256, in hex. It identifies the session without revealing the
// token.
func SessionID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:16])
}

// AddSession indexes a new session. The token must be new (else
// ErrDuplicate) and the user must exist (else ErrNotFound). IP and UserAgent
// are cleaned and cut to bounds.
func (db *DB) AddSession(ctx context.Context, s SessionInfo) error {
	const op = "add session"
	if s.Token == "" || !textOK(s.Token) || s.UserID <= 0 || s.Expiry.IsZero() {
		return invalid(op, "token, user and expiry are required")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now()
	}
	if s.LastSeen.IsZero() {
		s.LastSeen = s.CreatedAt
	}
	_, err := db.w.ExecContext(ctx,
		`INSERT INTO user_sessions (token, public_id, user_id, created_at, last_seen, expiry, ip, user_agent)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.Token, SessionID(s.Token), s.UserID, db.ts(s.CreatedAt), db.ts(s.LastSeen), db.ts(s.Expiry),
		clean(s.IP, maxIPRunes), clean(s.UserAgent, maxUserAgentRunes))
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// TouchSession records that a session was used at lastSeen from ip. It gives
// ErrNotFound when the session is not in the index (it was revoked): the
// caller should then treat the session as gone. It is a write: on a hot path,
// touch at most every minute or so.
func (db *DB) TouchSession(ctx context.Context, token string, lastSeen time.Time, ip string) error {
	return db.updateOne(ctx, "touch session",
		`UPDATE user_sessions SET last_seen = $2, ip = $3 WHERE token = $1`,
		token, db.ts(lastSeen), clean(ip, maxIPRunes))
}

// RemoveSession drops a session from the index. Removing a session that is
// not there is not an error.
func (db *DB) RemoveSession(ctx context.Context, token string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM user_sessions WHERE token = $1`, token); err != nil {
		return fail("remove session", err)
	}
	return nil
}

// RevokeSession drops the session with public handle id, if it belongs to
// userID, and returns its token so that the caller can delete it from the
// session store. Another user's session gives ErrNotFound, exactly like an
// unknown one.
func (db *DB) RevokeSession(ctx context.Context, userID int64, id string) (string, error) {
	var token string
	err := db.w.QueryRowContext(ctx,
		`DELETE FROM user_sessions WHERE public_id = $1 AND user_id = $2 RETURNING token`,
		id, userID).Scan(&token)
	if err != nil {
		return "", fail("revoke session", err)
	}
	return token, nil
}

// UserSessions returns a user's sessions that expire after now, newest first.
func (db *DB) UserSessions(ctx context.Context, userID int64, now time.Time) ([]SessionInfo, error) {
	const op = "user sessions"
	rows, err := db.r.QueryContext(ctx,
		`SELECT token, public_id, user_id, created_at, last_seen, expiry, ip, user_agent FROM user_sessions
		 WHERE user_id = $1 AND expiry > $2 ORDER BY created_at DESC, public_id`,
		userID, db.ts(now))
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var list []SessionInfo
	for rows.Next() {
		var s SessionInfo
		if err := rows.Scan(&s.Token, &s.ID, &s.UserID, timeScanner{&s.CreatedAt}, timeScanner{&s.LastSeen},
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

// RemoveUserSessions drops every session of a user but keepToken (pass ""
// to drop them all), expired ones included, and returns the tokens dropped
// so that the caller can delete them from the session store.
func (db *DB) RemoveUserSessions(ctx context.Context, userID int64, keepToken string) ([]string, error) {
	const op = "remove user sessions"
	rows, err := db.w.QueryContext(ctx,
		`DELETE FROM user_sessions WHERE user_id = $1 AND token <> $2 RETURNING token`,
		userID, keepToken)
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var tokens []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fail(op, err)
		}
		tokens = append(tokens, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(op, err)
	}
	return tokens, nil
}

// PruneSessions drops the sessions that expired at or before now.
func (db *DB) PruneSessions(ctx context.Context, now time.Time) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM user_sessions WHERE expiry <= $1`, db.ts(now)); err != nil {
		return fail("prune sessions", err)
	}
	return nil
}
