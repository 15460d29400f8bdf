-- 0008: verified addresses, and the single-use tokens mailed for address
-- verification, address change and password reset.
--
-- Accounts that exist before this migration count as verified: they were
-- made when nobody was asked to verify, and locking them out now would
-- help nobody. New rows always set the column.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 1 CHECK (email_verified IN (0, 1));

-- Only the SHA-256 of a token is stored: a copy of the database does not
-- let anyone reset a password. email is the address the token was mailed
-- to and confirms (for an address change, the new address).
-- credential_version is the user's at issue: a password change since
-- makes the token worthless. One live token per user and purpose (issuing
-- deletes the older ones).
CREATE TABLE email_tokens (
    hash               BLOB    NOT NULL PRIMARY KEY CHECK (length(hash) = 32),
    user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose            TEXT    NOT NULL CHECK (purpose IN ('verify_email', 'change_email', 'reset_password')),
    email              TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    credential_version INTEGER NOT NULL,
    created_at         TEXT    NOT NULL,
    expires_at         TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_idx ON email_tokens (expires_at);
