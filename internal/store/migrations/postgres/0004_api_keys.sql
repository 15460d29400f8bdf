-- 0004: API keys (see the SQLite migration of the same number).
CREATE TABLE api_keys (
    id           TEXT        NOT NULL PRIMARY KEY CHECK (char_length(id) = 8),
    user_id      BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    hash         BYTEA       NOT NULL CHECK (octet_length(hash) = 32),
    scopes       TEXT        NOT NULL CHECK (char_length(scopes) BETWEEN 1 AND 200),
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at);
