-- 0009: TOTP second factor and recovery codes.
--
-- totp_secrets holds one key per user. sealed is the base32 secret
-- encrypted with AES-GCM under a key derived from SECRET_KEY (package
-- secrets, Sealer), never the secret itself. confirmed_at is NULL while
-- the key is set up but not yet confirmed by a first code: only a
-- confirmed key asks for a code at sign-in. last_step is the TOTP time
-- step of the last code accepted; a code is accepted only for a later
-- step, so each code works once (an UPDATE … WHERE last_step < new step).
CREATE TABLE totp_secrets (
    user_id      INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed       BLOB    NOT NULL CHECK (length(sealed) BETWEEN 16 AND 256),
    confirmed_at TEXT,
    last_step    INTEGER NOT NULL DEFAULT 0 CHECK (last_step >= 0),
    created_at   TEXT    NOT NULL
) STRICT;

-- Recovery codes, stored as HMAC-SHA256 hashes (see pages/twofactor.go
-- for why keyed). A used code is deleted: single use is the DELETE's row
-- count.
CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL CHECK (length(hash) = 32),
    created_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;
