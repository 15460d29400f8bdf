-- 0005: received webhook events, and the signatures already accepted (see
-- the SQLite migration of the same number).
CREATE TABLE webhook_events (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    body        BYTEA       NOT NULL CHECK (octet_length(body) <= 1048576)
);

CREATE INDEX webhook_events_received_idx ON webhook_events (received_at, id);

CREATE TABLE webhook_signatures (
    id         TEXT        PRIMARY KEY CHECK (char_length(id) = 64),
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX webhook_signatures_expires_idx ON webhook_signatures (expires_at);
