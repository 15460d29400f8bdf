-- 0001_init: users, security events, the per-user session index and scs's
-- session table.

-- An identity column never hands out the id of a deleted user again, so a
-- stale reference (an old session, an audit event) can never point at a new
-- user.
CREATE TABLE users (
    id            BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         TEXT        NOT NULL UNIQUE CHECK (char_length(email) BETWEEN 3 AND 254),
    name          TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    bio           TEXT        NOT NULL DEFAULT '' CHECK (char_length(bio) <= 500),
    admin         BOOLEAN     NOT NULL DEFAULT FALSE,
    password_hash TEXT        NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX users_name_idx ON users (name, id);

-- Security events keep the user id without a foreign key: the audit trail
-- outlives the account. 0 means "no user" (a failed sign-in for an unknown
-- email), which keeps (user_id, at) indexable.
CREATE TABLE security_events (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    BIGINT      NOT NULL DEFAULT 0,
    kind       TEXT        NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 64),
    ip         TEXT        NOT NULL DEFAULT '',
    user_agent TEXT        NOT NULL DEFAULT '',
    detail     TEXT        NOT NULL DEFAULT '',
    at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX security_events_user_at_idx ON security_events (user_id, at, id);

-- The index of live sessions per user. The session data itself is in scs's
-- store (the sessions table below, or Redis). public_id is a hash of the
-- token that pages and URLs may show; the token never leaves the server.
CREATE TABLE user_sessions (
    token      TEXT        PRIMARY KEY,
    public_id  TEXT        NOT NULL UNIQUE,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    expiry     TIMESTAMPTZ NOT NULL,
    ip         TEXT        NOT NULL DEFAULT '',
    user_agent TEXT        NOT NULL DEFAULT ''
);

CREATE INDEX user_sessions_user_idx ON user_sessions (user_id, created_at);
CREATE INDEX user_sessions_expiry_idx ON user_sessions (expiry);

-- Exactly the table github.com/alexedwards/scs/postgresstore expects.
CREATE TABLE sessions (
    token  TEXT        PRIMARY KEY,
    data   BYTEA       NOT NULL,
    expiry TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_expiry_idx ON sessions (expiry);
