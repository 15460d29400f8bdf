package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// TokenPurpose says what a mailed token may do.
type TokenPurpose string

// The purposes of mailed tokens.
const (
	// TokenVerifyEmail confirms the address an account has.
	TokenVerifyEmail TokenPurpose = "verify_email"
	// TokenChangeEmail confirms a new address, which replaces the
	// account's address when the token is used.
	TokenChangeEmail TokenPurpose = "change_email"
	// TokenResetPassword lets its holder set a new password.
	TokenResetPassword TokenPurpose = "reset_password"
)

// EmailToken is a token mailed to a user. The token itself never reaches
// the database: only its SHA-256 (TokenHash) does.
type EmailToken struct {
	UserID  int64
	Purpose TokenPurpose
	// Email is the address the token was mailed to, which using it
	// confirms (for TokenChangeEmail, the new address).
	Email string
	// CredentialVersion is the user's at issue: the token is worthless
	// once the password has changed since.
	CredentialVersion int64
	CreatedAt         time.Time
	ExpiresAt         time.Time
}

// tokenHashLen is the length of a SHA-256.
const tokenHashLen = 32

// IssueToken stores the hash of a new token for t.UserID and deletes every
// older token of the same user and purpose, so only the newest link works.
// ErrInvalid for a hash that is not 32 bytes; ErrNotFound for an unknown
// user.
func (db *DB) IssueToken(ctx context.Context, hash []byte, t EmailToken) error {
	const op = "issue token"
	if len(hash) != tokenHashLen {
		return invalid(op, "hash must be 32 bytes")
	}
	if !textOK(t.Email) {
		return invalid(op, "email must be UTF-8 without NUL bytes")
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2`,
			t.UserID, string(t.Purpose)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO email_tokens (hash, user_id, purpose, email, credential_version, created_at, expires_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			hash, t.UserID, string(t.Purpose), NormalizeEmail(t.Email), t.CredentialVersion,
			db.ts(t.CreatedAt), db.ts(t.ExpiresAt))
		return err
	})
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// LookupToken returns the live token with this hash and purpose without
// using it: ErrNotFound when there is none, it has expired at now, or the
// password has changed since it was issued.
func (db *DB) LookupToken(ctx context.Context, hash []byte, purpose TokenPurpose, now time.Time) (*EmailToken, error) {
	const op = "lookup token"
	if len(hash) != tokenHashLen {
		return nil, fail(op, sql.ErrNoRows)
	}
	var t EmailToken
	err := db.r.QueryRowContext(ctx,
		`SELECT t.user_id, t.purpose, t.email, t.credential_version, t.created_at, t.expires_at
		 FROM email_tokens t JOIN users u ON u.id = t.user_id
		 WHERE t.hash = $1 AND t.purpose = $2 AND t.expires_at > $3 AND t.credential_version = u.credential_version`,
		hash, string(purpose), db.ts(now)).Scan(&t.UserID, &t.Purpose, &t.Email, &t.CredentialVersion,
		timeScanner{&t.CreatedAt}, timeScanner{&t.ExpiresAt})
	if err != nil {
		return nil, fail(op, err)
	}
	return &t, nil
}

// takeToken deletes the token with this hash and purpose inside tx and
// returns it if it was live at now (unexpired, issued under the user's
// present credential version). A dead token is deleted too, and gives
// ErrNotFound: a token works once at most.
func (db *DB) takeToken(ctx context.Context, tx *sql.Tx, hash []byte, purpose TokenPurpose, now time.Time) (*EmailToken, error) {
	if len(hash) != tokenHashLen {
		return nil, sql.ErrNoRows
	}
	var t EmailToken
	err := tx.QueryRowContext(ctx,
		`DELETE FROM email_tokens WHERE hash = $1 AND purpose = $2
		 RETURNING user_id, purpose, email, credential_version, created_at, expires_at`,
		hash, string(purpose)).Scan(&t.UserID, &t.Purpose, &t.Email, &t.CredentialVersion,
		timeScanner{&t.CreatedAt}, timeScanner{&t.ExpiresAt})
	if err != nil {
		return nil, err
	}
	if !now.Before(t.ExpiresAt) {
		return nil, errTokenDead
	}
	var version int64
	if err := tx.QueryRowContext(ctx, `SELECT credential_version FROM users WHERE id = $1`, t.UserID).Scan(&version); err != nil {
		return nil, err
	}
	if version != t.CredentialVersion {
		return nil, errTokenDead
	}
	return &t, nil
}

// errTokenDead is a token that existed but could no longer be used; its
// deletion is committed, and callers see ErrNotFound.
var errTokenDead = errors.New("token expired or superseded")

// inTxKeep is inTx that also commits when fn returns errTokenDead (so a
// dead token stays deleted) and then returns ErrNotFound.
func (db *DB) inTxKeep(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fail(op, err)
	}
	err = fn(tx)
	switch {
	case err == nil, errors.Is(err, errTokenDead):
		if cerr := tx.Commit(); cerr != nil {
			return fail(op, cerr)
		}
		if err != nil {
			return fail(op, sql.ErrNoRows)
		}
		return nil
	default:
		_ = tx.Rollback()
		return fail(op, err)
	}
}

// ResetPassword uses a TokenResetPassword token: it stores the new
// password hash, raises the credential version (ending every session
// started before), marks the address verified (the mailbox received the
// link), and deletes every other reset token of the user. It returns the
// user and the new credential version; ErrNotFound when the token is
// unknown, used, expired at now or superseded.
func (db *DB) ResetPassword(ctx context.Context, tokenHash []byte, newHash string, now time.Time) (userID, version int64, err error) {
	const op = "reset password"
	if !textOK(newHash) {
		return 0, 0, invalid(op, "hash must be UTF-8 without NUL bytes")
	}
	err = db.inTxKeep(ctx, op, func(tx *sql.Tx) error {
		t, err := db.takeToken(ctx, tx, tokenHash, TokenResetPassword, now)
		if err != nil {
			return err
		}
		// The address must still be the one the link was mailed to.
		err = tx.QueryRowContext(ctx,
			`UPDATE users SET password_hash = $2, credential_version = credential_version + 1,
			 email_verified = $4, updated_at = $5
			 WHERE id = $1 AND email = $3 RETURNING credential_version`,
			t.UserID, newHash, t.Email, true, db.ts(now)).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return errTokenDead
		}
		if err != nil {
			return err
		}
		userID = t.UserID
		_, err = tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2`,
			t.UserID, string(TokenResetPassword))
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return userID, version, nil
}

// ConfirmEmail uses a TokenVerifyEmail or TokenChangeEmail token. For
// verification it marks the account's address verified, if it is still
// the address the link was mailed to. For a change it makes the token's
// address the account's, verified, and deletes the user's reset tokens
// (they were mailed to the old address). It returns the token, and whether
// the address was unverified before (a first verification).
//
// ErrNotFound: the token is unknown, used, expired or superseded.
// ErrDuplicate: the new address belongs to another account by now.
func (db *DB) ConfirmEmail(ctx context.Context, tokenHash []byte, now time.Time) (t *EmailToken, wasUnverified bool, err error) {
	const op = "confirm email"
	err = db.inTxKeep(ctx, op, func(tx *sql.Tx) error {
		var err error
		for _, purpose := range []TokenPurpose{TokenVerifyEmail, TokenChangeEmail} {
			t, err = db.takeToken(ctx, tx, tokenHash, purpose, now)
			if !errors.Is(err, sql.ErrNoRows) {
				break
			}
		}
		if err != nil {
			return err
		}
		var before bool
		if err := tx.QueryRowContext(ctx, `SELECT email_verified FROM users WHERE id = $1`, t.UserID).Scan(&before); err != nil {
			return err
		}
		wasUnverified = !before
		var res sql.Result
		if t.Purpose == TokenVerifyEmail {
			res, err = tx.ExecContext(ctx,
				`UPDATE users SET email_verified = $3, updated_at = $4 WHERE id = $1 AND email = $2`,
				t.UserID, t.Email, true, db.ts(now))
		} else {
			res, err = tx.ExecContext(ctx,
				`UPDATE users SET email = $2, email_verified = $3, updated_at = $4 WHERE id = $1`,
				t.UserID, t.Email, true, db.ts(now))
			if err == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND purpose IN ($2, $3)`,
					t.UserID, string(TokenResetPassword), string(TokenVerifyEmail))
			}
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errTokenDead
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return t, wasUnverified, nil
}

// DeleteTokens deletes every token of the user with that purpose: a
// sign-in, for one, cancels an outstanding password reset.
func (db *DB) DeleteTokens(ctx context.Context, userID int64, purpose TokenPurpose) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2`,
		userID, string(purpose)); err != nil {
		return fail("delete tokens", err)
	}
	return nil
}

// PruneTokens deletes tokens that expired before now.
func (db *DB) PruneTokens(ctx context.Context, now time.Time) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM email_tokens WHERE expires_at <= $1`, db.ts(now)); err != nil {
		return fail("prune tokens", err)
	}
	return nil
}
