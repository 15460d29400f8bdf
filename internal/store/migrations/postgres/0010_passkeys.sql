-- 0010: passkeys (WebAuthn credentials) and their ceremonies' challenges
-- (see the SQLite migration of the same number for why each table is so).
CREATE TABLE passkey_users (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  BYTEA  NOT NULL UNIQUE CHECK (length(handle) = 32)
);

CREATE TABLE passkeys (
    id                 BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      BYTEA       NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1023),
    name               TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    public_key         BYTEA       NOT NULL CHECK (length(public_key) BETWEEN 1 AND 4096),
    sign_count         BIGINT      NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    aaguid             BYTEA       NOT NULL CHECK (length(aaguid) IN (0, 16)),
    transports         TEXT        NOT NULL CHECK (char_length(transports) <= 200),
    backup_eligible    BOOLEAN     NOT NULL,
    backup_state       BOOLEAN     NOT NULL,
    user_verified      BOOLEAN     NOT NULL,
    attestation_format TEXT        NOT NULL CHECK (char_length(attestation_format) <= 64),
    created_at         TIMESTAMPTZ NOT NULL,
    last_used_at       TIMESTAMPTZ
);

CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at);

CREATE TABLE passkey_challenges (
    id         BYTEA       NOT NULL PRIMARY KEY CHECK (length(id) = 32),
    state      BYTEA       NOT NULL CHECK (length(state) <= 65536),
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX passkey_challenges_expires_idx ON passkey_challenges (expires_at);
