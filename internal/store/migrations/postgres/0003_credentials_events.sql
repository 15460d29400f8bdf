-- 0003: a credential version per user, and counted events (see the SQLite
-- migration of the same number for why).
ALTER TABLE users ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE event_counts (
    kind         TEXT        NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 64),
    period_start TIMESTAMPTZ NOT NULL,
    count        BIGINT      NOT NULL,
    PRIMARY KEY (kind, period_start)
);

CREATE INDEX security_events_at_idx ON security_events (at);
