-- 0002_sessions_hashed: sessions are stored and indexed under the SHA-256 of
-- their token, never the token itself, so a copy of the database cannot be
-- used to take over a session (security review, finding 7).
--
-- Every row written before this migration is keyed by a raw token. Those
-- rows are dropped, not converted (SQLite has no SHA-256 function, and both
-- dialects should end in the same state): every session signed in before
-- the upgrade ends, and its user signs in again. Bytes of the dropped rows
-- may linger in free pages until reused or VACUUM; they name sessions that no
-- longer exist, which no cookie can reach any more. Sessions kept in Redis
-- are not touched here: their old keys are never looked up again (lookups
-- are by hash now) and expire within SESSION_LIFETIME.

DROP TABLE user_sessions;

-- The index of live sessions per user. token_hash is the hex SHA-256 of the
-- session token (the Manager computes it); the first 32 digits are the
-- session's public id on pages. The CHECK keeps a raw token (43 characters)
-- out even by mistake.
CREATE TABLE user_sessions (
    token_hash TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    last_seen  TEXT    NOT NULL,
    expiry     TEXT    NOT NULL,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX user_sessions_user_idx ON user_sessions (user_id, created_at);
CREATE INDEX user_sessions_expiry_idx ON user_sessions (expiry);

-- scs's table keeps its shape (sqlite3store needs it); its token column now
-- holds hashes. The old rows hold raw tokens.
DELETE FROM sessions;
