-- 0010: passkeys (WebAuthn credentials) and their ceremonies' challenges.
--
-- passkey_users gives each account that registers a passkey a WebAuthn user
-- handle: 32 random bytes that authenticators keep and send back at a
-- discoverable sign-in. It stands for the account without saying anything
-- about it (not the email, not the row id).
CREATE TABLE passkey_users (
    user_id INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle  BLOB    NOT NULL UNIQUE CHECK (length(handle) = 32)
) STRICT;

-- One row per registered passkey. id is the public id in the account
-- page's URLs; credential_id is the authenticator's (up to 1023 bytes,
-- WebAuthn's bound). sign_count is the last signature counter seen: a
-- sign-in moves it forward with a compare and swap on the old value.
CREATE TABLE passkeys (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      BLOB    NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1023),
    name               TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    public_key         BLOB    NOT NULL CHECK (length(public_key) BETWEEN 1 AND 4096),
    sign_count         INTEGER NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),
    aaguid             BLOB    NOT NULL CHECK (length(aaguid) IN (0, 16)),
    transports         TEXT    NOT NULL CHECK (length(transports) <= 200),
    backup_eligible    INTEGER NOT NULL CHECK (backup_eligible IN (0, 1)),
    backup_state       INTEGER NOT NULL CHECK (backup_state IN (0, 1)),
    user_verified      INTEGER NOT NULL CHECK (user_verified IN (0, 1)),
    attestation_format TEXT    NOT NULL CHECK (length(attestation_format) <= 64),
    created_at         TEXT    NOT NULL,
    last_used_at       TEXT
) STRICT;

CREATE INDEX passkeys_user_idx ON passkeys (user_id, created_at);

-- A begun ceremony waits here until it is finished (and deleted: each
-- challenge is used once) or expires. id is the SHA-256 of the random
-- challenge id the browser holds (in its session, or a short-lived cookie
-- before sign-in), so a copy of this table names no live ceremony.
CREATE TABLE passkey_challenges (
    id         BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 32),
    state      BLOB NOT NULL CHECK (length(state) <= 65536),
    expires_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX passkey_challenges_expires_idx ON passkey_challenges (expires_at);
