-- 0005: received webhook events, and the signatures already accepted.
--
-- A signature may be used once: webhook_signatures keeps each accepted one
-- until it could no longer pass the time check anyway, shared by every
-- instance that uses this database (Redis keeps them instead when set).
CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY,
    received_at TEXT    NOT NULL,
    body        BLOB    NOT NULL CHECK (length(body) <= 1048576)
) STRICT;

CREATE INDEX webhook_events_received_idx ON webhook_events (received_at, id);

CREATE TABLE webhook_signatures (
    id         TEXT PRIMARY KEY CHECK (length(id) = 64),
    expires_at TEXT NOT NULL
) STRICT;

CREATE INDEX webhook_signatures_expires_idx ON webhook_signatures (expires_at);
