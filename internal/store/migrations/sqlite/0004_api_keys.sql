-- 0004: API keys.
--
-- A key is "bwk_" + id + secret + checksum (package apikey). Only its
-- SHA-256 is stored, in hash; id is the key's public part, the lookup key
-- of every API request (the primary key: one indexed read, no cache, so a
-- revocation holds on every instance at once). scopes is a space-separated
-- list of scope names. NULL times: never used, never expires, not revoked.
CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 8),
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    hash         BLOB    NOT NULL CHECK (length(hash) = 32),
    scopes       TEXT    NOT NULL CHECK (length(scopes) BETWEEN 1 AND 200),
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    expires_at   TEXT,
    revoked_at   TEXT
) STRICT, WITHOUT ROWID;

CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at);
