package store

import (
	"context"
	"time"
)

// WebhookEvent is a webhook delivery that passed its signature check.
type WebhookEvent struct {
	ID         int64
	ReceivedAt time.Time
	Body       []byte
}

// MaxWebhookBody bounds a stored webhook body, as the schema does.
const MaxWebhookBody = 1 << 20

// RecordWebhookEvent stores a verified webhook body and returns its id.
func (db *DB) RecordWebhookEvent(ctx context.Context, body []byte) (int64, error) {
	const op = "record webhook event"
	if len(body) > MaxWebhookBody {
		return 0, invalid(op, "body is over 1 MiB")
	}
	if body == nil {
		body = []byte{}
	}
	var id int64
	err := db.w.QueryRowContext(ctx,
		`INSERT INTO webhook_events (received_at, body) VALUES ($1, $2) RETURNING id`,
		db.ts(now()), body).Scan(&id)
	if err != nil {
		return 0, fail(op, err)
	}
	return id, nil
}

// WebhookEvents returns up to limit events, newest first.
func (db *DB) WebhookEvents(ctx context.Context, limit int) ([]WebhookEvent, error) {
	const op = "webhook events"
	limit, err := checkLimit(op, limit)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx,
		`SELECT id, received_at, body FROM webhook_events ORDER BY received_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var out []WebhookEvent
	for rows.Next() {
		var e WebhookEvent
		if err := rows.Scan(&e.ID, timeScanner{&e.ReceivedAt}, &e.Body); err != nil {
			return nil, fail(op, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(op, err)
	}
	return out, nil
}

// Claim records a webhook signature id (64 hex characters) as used until
// expiry. It returns false when the id was claimed before: a replay. With
// it *DB is a webhook.ReplayStore shared by every instance on the database.
func (db *DB) Claim(ctx context.Context, id string, expiry time.Time) (bool, error) {
	const op = "claim webhook signature"
	if len(id) != 64 || !textOK(id) {
		return false, invalid(op, "id must be 64 characters")
	}
	res, err := db.w.ExecContext(ctx,
		`INSERT INTO webhook_signatures (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
		id, db.ts(expiry))
	if err != nil {
		return false, fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fail(op, err)
	}
	return n == 1, nil
}

// PruneWebhookSignatures forgets signatures whose time has passed: they
// could not pass the time check again anyway.
func (db *DB) PruneWebhookSignatures(ctx context.Context, now time.Time) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM webhook_signatures WHERE expires_at < $1`, db.ts(now)); err != nil {
		return fail("prune webhook signatures", err)
	}
	return nil
}
