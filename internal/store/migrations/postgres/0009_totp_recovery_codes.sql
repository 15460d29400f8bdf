-- 0009: TOTP second factor and recovery codes (see the SQLite migration of
-- the same number).
CREATE TABLE totp_secrets (
    user_id      BIGINT      NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed       BYTEA       NOT NULL CHECK (octet_length(sealed) BETWEEN 16 AND 256),
    confirmed_at TIMESTAMPTZ,
    last_step    BIGINT      NOT NULL DEFAULT 0 CHECK (last_step >= 0),
    created_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE recovery_codes (
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       BYTEA       NOT NULL CHECK (octet_length(hash) = 32),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, hash)
);
