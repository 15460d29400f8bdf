-- 0003: a credential version per user, and counted events.
--
-- credential_version goes up whenever the password changes: sessions carry
-- the version they were started under and end when it no longer matches,
-- so a sign-in that raced a password change cannot outlive it.
ALTER TABLE users ADD COLUMN credential_version INTEGER NOT NULL DEFAULT 1;

-- Events with no account (failed or throttled sign-ins for unknown emails)
-- are counted per kind and hour instead of stored a row each, so that
-- anyone can cause them without growing the table.
CREATE TABLE event_counts (
    kind         TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    period_start TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (kind, period_start)
) STRICT;

CREATE INDEX security_events_at_idx ON security_events (at);
