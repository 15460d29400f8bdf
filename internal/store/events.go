package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// EventKind names what happened in a security event.
type EventKind string

// The security events the service records.
const (
	EventRegister              EventKind = "register"
	EventLoginSuccess          EventKind = "login_success"
	EventLoginFailure          EventKind = "login_failure"
	EventLoginThrottled        EventKind = "login_throttled"
	EventLogout                EventKind = "logout"
	EventPasswordRehashed      EventKind = "password_rehashed"
	EventPasswordChange        EventKind = "password_change"
	EventPasswordChangeFailure EventKind = "password_change_failure"
	EventSessionRevoked        EventKind = "session_revoked"
	EventAPIKeyCreated         EventKind = "apikey_created"
	EventAPIKeyRevoked         EventKind = "apikey_revoked"

	// Address verification, address change and password reset by mail.
	EventVerificationSent       EventKind = "email_verification_sent"
	EventEmailVerified          EventKind = "email_verified"
	EventEmailChangeRequested   EventKind = "email_change_requested"
	EventEmailChanged           EventKind = "email_changed"
	EventPasswordResetRequested EventKind = "password_reset_requested"
	EventPasswordReset          EventKind = "password_reset"
)

// Event is a security event.
type Event struct {
	ID        int64
	UserID    int64 // 0: no user (e.g. a failed sign-in for an unknown email)
	Kind      EventKind
	IP        string
	UserAgent string
	Detail    string
	At        time.Time // set to now when zero
}

// Bounds on the outside text an event or a session keeps. Longer text is
// cut, not refused: an attacker's 10 kB User-Agent must not stop the event
// about them from being recorded.
const (
	maxKindRunes      = 64
	maxIPRunes        = 64
	maxUserAgentRunes = 512
	maxDetailRunes    = 1000
)

// clean makes outside text storable by both dialects and bounded: invalid
// UTF-8 and NUL bytes become U+FFFD, and it is cut to at most n runes.
func clean(s string, n int) string {
	if !textOK(s) {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if n == 0 {
			i = j
			break
		}
		n--
	}
	return s[:i]
}

// RecordEvent stores a security event. Kind must be 1–64 characters of
// valid text (it comes from the app, not from outside); IP, UserAgent and
// Detail are cleaned and cut to bounds.
func (db *DB) RecordEvent(ctx context.Context, e Event) error {
	const op = "record event"
	if e.Kind == "" || utf8.RuneCountInString(string(e.Kind)) > maxKindRunes || !textOK(string(e.Kind)) {
		return invalid(op, "kind must be 1–64 characters")
	}
	if e.At.IsZero() {
		e.At = now()
	}
	_, err := db.w.ExecContext(ctx,
		`INSERT INTO security_events (user_id, kind, ip, user_agent, detail, at)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		e.UserID, e.Kind, clean(e.IP, maxIPRunes), clean(e.UserAgent, maxUserAgentRunes),
		clean(e.Detail, maxDetailRunes), db.ts(e.At))
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// RecentEvents returns up to limit events of a user (0: events with no
// user), newest first. limit must be positive and is capped at MaxListLimit.
func (db *DB) RecentEvents(ctx context.Context, userID int64, limit int) ([]Event, error) {
	const op = "recent events"
	limit, err := checkLimit(op, limit)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx,
		`SELECT id, user_id, kind, ip, user_agent, detail, at FROM security_events
		 WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var events []Event
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.UserID, &e.Kind, &e.IP, &e.UserAgent, &e.Detail, timeScanner{&e.At}); err != nil {
			return nil, fail(op, err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(op, err)
	}
	return events, nil
}

// CountEvent adds one to the count of kind in the hour of at: events that
// anyone can cause without an account (a failed sign-in for an unknown
// email) are counted, not stored a row each.
func (db *DB) CountEvent(ctx context.Context, kind EventKind, at time.Time) error {
	const op = "count event"
	if kind == "" || utf8.RuneCountInString(string(kind)) > maxKindRunes || !textOK(string(kind)) {
		return invalid(op, "kind must be 1–64 characters")
	}
	_, err := db.w.ExecContext(ctx,
		`INSERT INTO event_counts (kind, period_start, count) VALUES ($1, $2, 1)
		 ON CONFLICT (kind, period_start) DO UPDATE SET count = event_counts.count + 1`,
		string(kind), db.ts(at.UTC().Truncate(time.Hour)))
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// EventCount returns the count of kind in the hour of at.
func (db *DB) EventCount(ctx context.Context, kind EventKind, at time.Time) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx,
		`SELECT count FROM event_counts WHERE kind = $1 AND period_start = $2`,
		string(kind), db.ts(at.UTC().Truncate(time.Hour))).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fail("event count", err)
	}
	return n, nil
}

// PruneEvents deletes events and event counts older than before
// (EVENT_RETENTION).
func (db *DB) PruneEvents(ctx context.Context, before time.Time) error {
	const op = "prune events"
	if _, err := db.w.ExecContext(ctx, `DELETE FROM security_events WHERE at < $1`, db.ts(before)); err != nil {
		return fail(op, err)
	}
	if _, err := db.w.ExecContext(ctx, `DELETE FROM event_counts WHERE period_start < $1`, db.ts(before)); err != nil {
		return fail(op, err)
	}
	return nil
}
