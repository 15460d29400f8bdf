package store

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is a security event: login_success, login_failure, logout,
// password_change, session_revoked, …
type Event struct {
	ID        int64
	UserID    int64 // 0: no user (e.g. a failed sign-in for an unknown email)
	Kind      string
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
	if e.Kind == "" || utf8.RuneCountInString(e.Kind) > maxKindRunes || !textOK(e.Kind) {
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
