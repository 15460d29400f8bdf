package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SessionData is an scs store (scs.Store and scs.CtxStore) over the sessions
// table: the data of each session, under its token hash. It keeps scs's own
// table layout and value formats (those of sqlite3store and postgresstore),
// so rows written by either stay readable, and differs in one thing: Find
// reads from the reader pool. On SQLite, scs's stores take a single *sql.DB,
// which had to be the one-connection writer, so every signed-in page waited
// for the session writes and sign-ins queued ahead of it; here only Commit
// and Delete do. Expired rows are removed by DeleteExpiredSessions.
type SessionData struct{ db *DB }

// SessionData returns the scs store of session data kept in db.
func (db *DB) SessionData() *SessionData { return &SessionData{db: db} }

// sqliteExpiry is the layout sqlite3store binds to julianday(): the column
// holds a Julian day number (REAL).
const sqliteExpiry = "2006-01-02T15:04:05.999"

// FindCtx returns the data of a live session, or found == false.
func (s *SessionData) FindCtx(ctx context.Context, token string) (b []byte, found bool, err error) {
	q := `SELECT data FROM sessions WHERE token = $1 AND current_timestamp < expiry`
	if s.db.dialect == DialectSQLite {
		q = `SELECT data FROM sessions WHERE token = $1 AND julianday('now') < expiry`
	}
	err = s.db.r.QueryRowContext(ctx, q, token).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: find session: %w", err)
	}
	return b, true, nil
}

// CommitCtx stores a session's data until expiry, replacing what was there.
func (s *SessionData) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	var err error
	if s.db.dialect == DialectSQLite {
		_, err = s.db.w.ExecContext(ctx,
			`REPLACE INTO sessions (token, data, expiry) VALUES ($1, $2, julianday($3))`,
			token, b, expiry.UTC().Format(sqliteExpiry))
	} else {
		_, err = s.db.w.ExecContext(ctx,
			`INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
			 ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`,
			token, b, expiry.UTC())
	}
	if err != nil {
		return fmt.Errorf("store: commit session: %w", err)
	}
	return nil
}

// DeleteCtx removes a session's data; an unknown token is not an error.
func (s *SessionData) DeleteCtx(ctx context.Context, token string) error {
	if _, err := s.db.w.ExecContext(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// Find is FindCtx without a context, for scs.Store.
func (s *SessionData) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context, for scs.Store.
func (s *SessionData) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context, for scs.Store.
func (s *SessionData) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// DeleteExpiredSessions removes the data of sessions that have expired. The
// service runs it every ten minutes, as scs's stores do.
func (db *DB) DeleteExpiredSessions(ctx context.Context, _ time.Time) error {
	q := `DELETE FROM sessions WHERE expiry < current_timestamp`
	if db.dialect == DialectSQLite {
		q = `DELETE FROM sessions WHERE expiry < julianday('now')`
	}
	if _, err := db.w.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return nil
}
