package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// Second factors live in totp_secrets and recovery_codes (migration 0009).
// The store never sees a TOTP secret or a recovery code: it keeps the
// secret sealed (encrypted by the caller) and codes as 32-byte hashes.
// Every "use once" rule is a single conditional statement, so two
// instances accepting the same code at the same moment cannot both win.

// The security events of second factors.
const (
	EventTOTPEnabled              EventKind = "totp_enabled"
	EventTOTPDisabled             EventKind = "totp_disabled"
	EventSecondFactorFailure      EventKind = "second_factor_failure" // a wrong or replayed code
	EventSecondFactorThrottled    EventKind = "second_factor_throttled"
	EventRecoveryCodeUsed         EventKind = "recovery_code_used"
	EventRecoveryCodesRegenerated EventKind = "recovery_codes_regenerated"
	EventSecondFactorsReset       EventKind = "second_factors_reset" // by an operator: bulwark user reset-2fa
)

// TOTP is a user's TOTP key as stored.
type TOTP struct {
	UserID int64
	// Sealed is the encrypted secret (secrets.Sealer), opaque here.
	Sealed []byte
	// ConfirmedAt is when a first code confirmed the key; zero while it
	// is set up but unconfirmed, when sign-in does not ask for it.
	ConfirmedAt time.Time
	// LastStep is the time step of the last code accepted (0: none).
	LastStep  uint64
	CreatedAt time.Time
}

// Confirmed reports whether the key is on: sign-in asks for its codes.
func (t *TOTP) Confirmed() bool { return !t.ConfirmedAt.IsZero() }

// UserTOTP returns the user's TOTP key, confirmed or not; ErrNotFound
// when there is none.
func (db *DB) UserTOTP(ctx context.Context, userID int64) (*TOTP, error) {
	t := &TOTP{UserID: userID}
	var step int64
	err := db.r.QueryRowContext(ctx,
		`SELECT sealed, confirmed_at, last_step, created_at FROM totp_secrets WHERE user_id = $1`, userID).
		Scan(&t.Sealed, nullTimeScanner{&t.ConfirmedAt}, &step, timeScanner{&t.CreatedAt})
	if err != nil {
		return nil, fail("user totp", err)
	}
	t.LastStep = uint64(step) // #nosec G115 -- written only from steps checked to be at most MaxInt64, never negative
	return t, nil
}

// StartTOTP stores a new, unconfirmed key for the user, replacing an
// unconfirmed one (a set-up begun again). A confirmed key is never
// replaced: ErrDuplicate (turn it off first). An unknown user gives
// ErrNotFound.
func (db *DB) StartTOTP(ctx context.Context, userID int64, sealed []byte) error {
	const op = "start totp"
	if userID <= 0 || len(sealed) == 0 {
		return invalid(op, "user and sealed secret are required")
	}
	res, err := db.w.ExecContext(ctx,
		`INSERT INTO totp_secrets (user_id, sealed, created_at) VALUES ($1, $2, $3)
		 ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, created_at = excluded.created_at, last_step = 0
		 WHERE totp_secrets.confirmed_at IS NULL`,
		userID, sealed, db.ts(now()))
	if err != nil {
		return fail(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fail(op, err)
	} else if n == 0 {
		return fmt.Errorf("store: %s: a confirmed key exists: %w", op, ErrDuplicate)
	}
	return nil
}

// ConfirmTOTP turns the user's unconfirmed key on, if it is still the one
// sealed (not replaced by another set-up meanwhile), records step as the
// last accepted, and replaces the recovery codes with codeHashes, in one
// transaction. No such unconfirmed key gives ErrNotFound.
func (db *DB) ConfirmTOTP(ctx context.Context, userID int64, sealed []byte, step uint64, codeHashes [][32]byte) error {
	const op = "confirm totp"
	if step > math.MaxInt64 {
		return invalid(op, "step out of range")
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE totp_secrets SET confirmed_at = $3, last_step = $4
			 WHERE user_id = $1 AND sealed = $2 AND confirmed_at IS NULL`,
			userID, sealed, db.ts(now()), int64(step)) // #nosec G115 -- step <= MaxInt64, checked above
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sql.ErrNoRows
		}
		return db.replaceRecoveryCodes(ctx, tx, userID, codeHashes)
	})
	if err != nil {
		return fail(op, err)
	}
	return nil
}

// AcceptTOTPStep records step as the user's last accepted step if it is
// later than the stored one and the key is confirmed, and reports whether
// it did. false means the step (or a later one) was already used: the
// code is a replay, even if another instance accepted it a moment ago.
func (db *DB) AcceptTOTPStep(ctx context.Context, userID int64, step uint64) (bool, error) {
	const op = "accept totp step"
	if step > math.MaxInt64 {
		return false, invalid(op, "step out of range")
	}
	res, err := db.w.ExecContext(ctx,
		`UPDATE totp_secrets SET last_step = $2
		 WHERE user_id = $1 AND last_step < $2 AND confirmed_at IS NOT NULL`, userID, int64(step))
	if err != nil {
		return false, fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fail(op, err)
	}
	return n == 1, nil
}

// ResealTOTP replaces the user's sealed secret old with resealed (the
// same secret under the current SECRET_KEY), unless it changed meanwhile.
// It reports whether it did.
func (db *DB) ResealTOTP(ctx context.Context, userID int64, old, resealed []byte) (bool, error) {
	const op = "reseal totp"
	res, err := db.w.ExecContext(ctx,
		`UPDATE totp_secrets SET sealed = $3 WHERE user_id = $1 AND sealed = $2`, userID, old, resealed)
	if err != nil {
		return false, fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fail(op, err)
	}
	return n == 1, nil
}

// DisableTOTP removes the user's TOTP key and recovery codes, and reports
// whether there was a key.
func (db *DB) DisableTOTP(ctx context.Context, userID int64) (bool, error) {
	var had bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM totp_secrets WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		had = n > 0
		_, err = tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return false, fail("disable totp", err)
	}
	return had, nil
}

// ReplaceRecoveryCodes makes codeHashes the user's only recovery codes:
// the old set stops working in the same transaction.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID int64, codeHashes [][32]byte) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error { return db.replaceRecoveryCodes(ctx, tx, userID, codeHashes) })
	if err != nil {
		return fail("replace recovery codes", err)
	}
	return nil
}

func (db *DB) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64, codeHashes [][32]byte) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	at := db.ts(now())
	for _, h := range codeHashes {
		if h == [32]byte{} {
			return errors.New("empty recovery code hash")
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO recovery_codes (user_id, hash, created_at) VALUES ($1, $2, $3)`, userID, h[:], at); err != nil {
			return err
		}
	}
	return nil
}

// UseRecoveryCode deletes the user's recovery code whose hash is one of
// hashes (the same code hashed under each SECRET_KEY, current first) and
// reports whether one was there. Deleting is what makes it single use:
// of two requests with the same code, one deletes the row.
func (db *DB) UseRecoveryCode(ctx context.Context, userID int64, hashes ...[32]byte) (bool, error) {
	const op = "use recovery code"
	for _, h := range hashes {
		res, err := db.w.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND hash = $2`, userID, h[:])
		if err != nil {
			return false, fail(op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return false, fail(op, err)
		}
		if n == 1 {
			return true, nil
		}
	}
	return false, nil
}

// RecoveryCodesLeft counts the user's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, fail("recovery codes left", err)
	}
	return n, nil
}

// secondFactorResets are the statements ResetSecondFactors runs, each
// removing one kind of second factor of user $1. A new kind of second
// factor (passkeys) adds its DELETE here, so an operator's reset always
// removes everything.
var secondFactorResets = []string{
	`DELETE FROM totp_secrets WHERE user_id = $1`,
	`DELETE FROM recovery_codes WHERE user_id = $1`,
	`DELETE FROM passkeys WHERE user_id = $1`,
}

// ResetSecondFactors removes every second factor of the user (TOTP key,
// recovery codes, and whatever else secondFactorResets lists) in one
// transaction, for an operator helping someone who lost them all. It
// reports whether anything was removed.
func (db *DB) ResetSecondFactors(ctx context.Context, userID int64) (bool, error) {
	removed := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range secondFactorResets {
			res, err := tx.ExecContext(ctx, q, userID)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			removed = removed || n > 0
		}
		return nil
	})
	if err != nil {
		return false, fail("reset second factors", err)
	}
	return removed, nil
}
