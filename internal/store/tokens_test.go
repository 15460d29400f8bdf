package store

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"
)

// The token cases run on every backend with the others
// (TestStore/<backend>/Token…).
func init() { cases = append(cases, tokenCases...) }

func tokenHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func issue(t *testing.T, db *DB, u *User, purpose TokenPurpose, secret, email string, at time.Time, life time.Duration) {
	t.Helper()
	err := db.IssueToken(t.Context(), tokenHash(secret), EmailToken{
		UserID: u.ID, Purpose: purpose, Email: email, CredentialVersion: u.CredentialVersion,
		CreatedAt: at, ExpiresAt: at.Add(life),
	})
	if err != nil {
		t.Fatalf("IssueToken: %v", err)
	}
}

var tokenCases = []struct {
	name string
	run  func(t *testing.T, e env)
}{
	{"TokenResetOnceOnly", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "ann@example.com", "Ann", "")
		now := time.Now()
		issue(t, e.db, u, TokenResetPassword, "one", u.Email, now, 30*time.Minute)
		if _, err := e.db.LookupToken(ctx, tokenHash("one"), TokenResetPassword, now); err != nil {
			t.Fatalf("LookupToken: %v", err)
		}
		if _, err := e.db.LookupToken(ctx, tokenHash("one"), TokenVerifyEmail, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a reset token looked up as a verification token: %v", err)
		}
		uid, version, err := e.db.ResetPassword(ctx, tokenHash("one"), "new-hash", now)
		if err != nil || uid != u.ID || version != u.CredentialVersion+1 {
			t.Fatalf("ResetPassword = %d, %d, %v", uid, version, err)
		}
		got, _ := e.db.UserByID(ctx, u.ID)
		if got.PasswordHash != "new-hash" || !got.EmailVerified {
			t.Fatalf("after reset: %+v", got)
		}
		// Single use: remove the DELETE … RETURNING in takeToken to see this fail.
		if _, _, err := e.db.ResetPassword(ctx, tokenHash("one"), "again", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second use: %v", err)
		}
	}},
	{"TokenSupersededExpiredAndStale", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "bob@example.com", "Bob", "")
		now := time.Now()
		issue(t, e.db, u, TokenResetPassword, "old", u.Email, now, 30*time.Minute)
		issue(t, e.db, u, TokenResetPassword, "new", u.Email, now, 30*time.Minute)
		if _, _, err := e.db.ResetPassword(ctx, tokenHash("old"), "h", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("superseded token: %v", err)
		}
		// Expired: 31 minutes later.
		if _, _, err := e.db.ResetPassword(ctx, tokenHash("new"), "h", now.Add(31*time.Minute)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired token: %v", err)
		}
		// An expired token stays used up.
		if _, _, err := e.db.ResetPassword(ctx, tokenHash("new"), "h", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired token came back: %v", err)
		}
		// A password change since issue makes the token worthless.
		issue(t, e.db, u, TokenResetPassword, "third", u.Email, now, 30*time.Minute)
		if _, err := e.db.SetPassword(ctx, u.ID, "changed"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.LookupToken(ctx, tokenHash("third"), TokenResetPassword, now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("lookup after password change: %v", err)
		}
		if _, _, err := e.db.ResetPassword(ctx, tokenHash("third"), "h", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("reset after password change: %v", err)
		}
		// DeleteTokens (a sign-in) cancels one.
		u, _ = e.db.UserByID(ctx, u.ID)
		issue(t, e.db, u, TokenResetPassword, "fourth", u.Email, now, 30*time.Minute)
		if err := e.db.DeleteTokens(ctx, u.ID, TokenResetPassword); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.db.ResetPassword(ctx, tokenHash("fourth"), "h", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("reset after DeleteTokens: %v", err)
		}
		if _, _, err := e.db.ResetPassword(ctx, []byte("short"), "h", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("short hash: %v", err)
		}
	}},
	{"TokenVerifyAndChangeEmail", func(t *testing.T, e env) {
		ctx := t.Context()
		u := &User{Email: "cy@example.com", Name: "Cy", PasswordHash: "h"}
		if err := e.db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.db.UserByID(ctx, u.ID); got.EmailVerified {
			t.Fatal("created verified")
		}
		now := time.Now()
		issue(t, e.db, u, TokenVerifyEmail, "v", u.Email, now, 24*time.Hour)
		tok, first, err := e.db.ConfirmEmail(ctx, tokenHash("v"), now)
		if err != nil || !first || tok.UserID != u.ID || tok.Purpose != TokenVerifyEmail {
			t.Fatalf("ConfirmEmail = %+v, %v, %v", tok, first, err)
		}
		if got, _ := e.db.UserByID(ctx, u.ID); !got.EmailVerified {
			t.Fatal("not verified")
		}
		// Change to a new address: it takes effect only when confirmed,
		// and the old address's reset link dies with it.
		issue(t, e.db, u, TokenResetPassword, "r", u.Email, now, 30*time.Minute)
		issue(t, e.db, u, TokenChangeEmail, "c", "Cy.New@example.com", now, 24*time.Hour)
		if got, _ := e.db.UserByID(ctx, u.ID); got.Email != "cy@example.com" {
			t.Fatalf("changed before confirmation: %s", got.Email)
		}
		tok, first, err = e.db.ConfirmEmail(ctx, tokenHash("c"), now)
		if err != nil || first || tok.Email != "cy.new@example.com" {
			t.Fatalf("ConfirmEmail(change) = %+v, %v, %v", tok, first, err)
		}
		if got, _ := e.db.UserByID(ctx, u.ID); got.Email != "cy.new@example.com" || !got.EmailVerified {
			t.Fatalf("after change: %+v", got)
		}
		if _, _, err := e.db.ResetPassword(ctx, tokenHash("r"), "h", now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("old address's reset link after change: %v", err)
		}
		// A new address taken meanwhile by another account.
		other := mustUser(t, e.db, "taken@example.com", "Other", "")
		_ = other
		issue(t, e.db, u, TokenChangeEmail, "c2", "taken@example.com", now, 24*time.Hour)
		if _, _, err := e.db.ConfirmEmail(ctx, tokenHash("c2"), now); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("change to a taken address: %v", err)
		}
	}},
}
