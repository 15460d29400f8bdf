-- 0008: verified addresses and mailed tokens (see the SQLite migration of
-- the same number).
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT true;

CREATE TABLE email_tokens (
    hash               BYTEA       NOT NULL PRIMARY KEY CHECK (octet_length(hash) = 32),
    user_id            BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose            TEXT        NOT NULL CHECK (purpose IN ('verify_email', 'change_email', 'reset_password')),
    email              TEXT        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    credential_version BIGINT      NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    expires_at         TIMESTAMPTZ NOT NULL
);

CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_idx ON email_tokens (expires_at);
