package pages

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/secrets"
	"github.com/bulwarkhq/bulwark/totp"
)

// newTestTwoFactor is the code check of /login/2fa over an in-memory
// SQLite database, for one user with TOTP on and ten recovery codes.
func newTestTwoFactor(tb testing.TB, now *time.Time) (tf *twoFactor, userID int64, secret string, codes []string) {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	u := &store.User{Email: "bench@example.com", Name: "Bench"}
	if err := db.CreateUser(ctx, u); err != nil {
		tb.Fatal(err)
	}
	keys := [][]byte{[]byte("0123456789abcdef0123456789abcdef-new"), []byte("0123456789abcdef0123456789abcdef-old")}
	tf = &twoFactor{db: db, now: func() time.Time { return *now }}
	if tf.sealer, err = secrets.NewSealer("totp secret", keys...); err != nil {
		tb.Fatal(err)
	}
	for _, k := range keys {
		ck, _ := secrets.DeriveKey(k, "recovery codes")
		tf.codeKeys = append(tf.codeKeys, ck)
	}
	key, err := totp.Generate(issuer, u.Email)
	if err != nil {
		tb.Fatal(err)
	}
	sealed := tf.sealer.Seal([]byte(key.Secret()), sealAD(u.ID))
	if err := db.StartTOTP(ctx, u.ID, sealed); err != nil {
		tb.Fatal(err)
	}
	codes, hashes, err := tf.newRecoveryCodes()
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.ConfirmTOTP(ctx, u.ID, sealed, totp.Step(*now), hashes); err != nil {
		tb.Fatal(err)
	}
	return tf, u.ID, key.Secret(), codes
}

func TestTwoFactorCheck(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tf, uid, secret, codes := newTestTwoFactor(t, &now)
	ctx := t.Context()
	c, _ := totp.GenerateCode(secret, now)
	if _, err := tf.check(ctx, uid, c); !errors.Is(err, errWrongCode) {
		t.Fatalf("the confirmation code accepted again: %v", err)
	}
	now = now.Add(totp.Period)
	c, _ = totp.GenerateCode(secret, now)
	if kind, err := tf.check(ctx, uid, c[:3]+" "+c[3:]); kind != byTOTP || err != nil {
		t.Fatalf("next code: %v %v", kind, err)
	}
	if _, err := tf.check(ctx, uid, c); !errors.Is(err, errWrongCode) {
		t.Fatalf("replay: %v", err)
	}
	if kind, err := tf.check(ctx, uid, codes[0]); kind != byRecoveryCode || err != nil {
		t.Fatalf("recovery code: %v %v", kind, err)
	}
	if _, err := tf.check(ctx, uid, codes[0]); !errors.Is(err, errWrongCode) {
		t.Fatalf("recovery code twice: %v", err)
	}
	for _, junk := range []string{"", "12345", "abcdefghijklmnopqrstuvwxyz", "\x00\xff"} {
		if _, err := tf.check(ctx, uid, junk); !errors.Is(err, errWrongCode) {
			t.Fatalf("%q: %v", junk, err)
		}
	}
}

// BenchmarkTwoFactorCheck measures the check behind POST /login/2fa on
// SQLite in memory: a right TOTP code (read and open the sealed secret,
// three HMAC-SHA1 steps, the compare-and-set of the step), a wrong one,
// and a recovery code that is not there (HMAC under each key, DELETEs).
func BenchmarkTwoFactorCheck(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	tf, uid, secret, _ := newTestTwoFactor(b, &now)
	ctx := context.Background()
	b.Run("totp", func(b *testing.B) {
		// One new step per check, so none is a replay.
		start := now.Add(totp.Period)
		codes := make([]string, b.N)
		for i := range codes {
			codes[i], _ = totp.GenerateCode(secret, start.Add(time.Duration(i)*totp.Period))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			now = start.Add(time.Duration(i) * totp.Period)
			if _, err := tf.check(ctx, uid, codes[i]); err != nil {
				b.Fatal(err)
			}
		}
		now = start.Add(time.Duration(b.N) * totp.Period)
	})
	b.Run("totp-wrong", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tf.check(ctx, uid, "000000"); !errors.Is(err, errWrongCode) && err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recovery-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tf.check(ctx, uid, "aaaaa-bbbbb"); !errors.Is(err, errWrongCode) {
				b.Fatal(err)
			}
		}
	})
}
