-- 0001_init: users, security events, the per-user session index and scs's
-- session table.
--
-- Our own tables are STRICT, so a value of the wrong type is refused rather
-- than stored. Timestamps are TEXT in the fixed-width UTC form
-- 'YYYY-MM-DD HH:MM:SS.ffffffZ', which sorts in time order.

-- AUTOINCREMENT: ids of deleted users are never handed out again, so a stale
-- reference (an old session, an audit event) can never point at a new user.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    bio           TEXT    NOT NULL DEFAULT '' CHECK (length(bio) <= 500),
    admin         INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1)),
    password_hash TEXT    NOT NULL DEFAULT '',
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
) STRICT;

CREATE INDEX users_name_idx ON users (name, id);

-- Security events keep the user id without a foreign key: the audit trail
-- outlives the account. 0 means "no user" (a failed sign-in for an unknown
-- email), which keeps (user_id, at) indexable.
CREATE TABLE security_events (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL DEFAULT 0,
    kind       TEXT    NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '',
    at         TEXT    NOT NULL
) STRICT;

CREATE INDEX security_events_user_at_idx ON security_events (user_id, at, id);

-- The index of live sessions per user. The session data itself is in scs's
-- store (the sessions table below, or Redis). public_id is a hash of the
-- token that pages and URLs may show; the token never leaves the server.
CREATE TABLE user_sessions (
    token      TEXT    PRIMARY KEY,
    public_id  TEXT    NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT    NOT NULL,
    last_seen  TEXT    NOT NULL,
    expiry     TEXT    NOT NULL,
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX user_sessions_user_idx ON user_sessions (user_id, created_at);
CREATE INDEX user_sessions_expiry_idx ON user_sessions (expiry);

-- Exactly the table github.com/alexedwards/scs/sqlite3store expects.
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry REAL NOT NULL
);

CREATE INDEX sessions_expiry_idx ON sessions (expiry);
