package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// The second-factor cases join the store's table, so they run on every
// backend (TestStore/<backend>/TOTP…).
func init() { cases = append(cases, twoFactorCases...) }

func codeHash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

var twoFactorCases = []struct {
	name string
	run  func(t *testing.T, e env)
}{
	{"TOTPSetUpConfirmAndReplay", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "totp@example.com", "Tess", "")
		if _, err := e.db.UserTOTP(ctx, u.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no key yet: %v", err)
		}
		first, second := []byte("sealed secret number one"), []byte("sealed secret number two")
		if err := e.db.StartTOTP(ctx, u.ID, first); err != nil {
			t.Fatal(err)
		}
		// Set-up begun again replaces the unconfirmed key.
		if err := e.db.StartTOTP(ctx, u.ID, second); err != nil {
			t.Fatal(err)
		}
		k, err := e.db.UserTOTP(ctx, u.ID)
		if err != nil || k.Confirmed() || !bytes.Equal(k.Sealed, second) {
			t.Fatalf("pending key: %+v, %v", k, err)
		}
		// Unconfirmed keys accept no sign-in codes.
		if ok, err := e.db.AcceptTOTPStep(ctx, u.ID, 100); ok || err != nil {
			t.Fatalf("step accepted for an unconfirmed key: %v %v", ok, err)
		}
		// A confirmation of the replaced key (an old tab) does nothing.
		if err := e.db.ConfirmTOTP(ctx, u.ID, first, 100, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("confirm of a replaced key: %v", err)
		}
		if err := e.db.ConfirmTOTP(ctx, u.ID, second, 100, [][32]byte{codeHash("a"), codeHash("b")}); err != nil {
			t.Fatal(err)
		}
		k, _ = e.db.UserTOTP(ctx, u.ID)
		if !k.Confirmed() || k.LastStep != 100 {
			t.Fatalf("confirmed key: %+v", k)
		}
		if n, _ := e.db.RecoveryCodesLeft(ctx, u.ID); n != 2 {
			t.Fatalf("%d recovery codes, want 2", n)
		}
		// A confirmed key is never replaced by a new set-up.
		if err := e.db.StartTOTP(ctx, u.ID, first); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("StartTOTP over a confirmed key: %v", err)
		}
		// The step of the confirmation code, or an older one, is a replay.
		for _, step := range []uint64{99, 100} {
			if ok, err := e.db.AcceptTOTPStep(ctx, u.ID, step); ok || err != nil {
				t.Fatalf("step %d accepted after 100: %v %v", step, ok, err)
			}
		}
		// Ten instances accept the same new step at once: one wins. (Drop
		// "last_step < $2" from AcceptTOTPStep to see them all win.)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if ok, err := e.db.AcceptTOTPStep(ctx, u.ID, 101); err != nil {
					t.Error(err)
				} else if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("step 101 accepted %d times", wins.Load())
		}
		if ok, _ := e.db.ResealTOTP(ctx, u.ID, first, []byte("resealed value, first")); ok {
			t.Fatal("reseal of a value no longer stored")
		}
		if ok, _ := e.db.ResealTOTP(ctx, u.ID, second, []byte("resealed value, second")); !ok {
			t.Fatal("reseal refused")
		}
		if had, err := e.db.DisableTOTP(ctx, u.ID); !had || err != nil {
			t.Fatalf("disable: %v %v", had, err)
		}
		if _, err := e.db.UserTOTP(ctx, u.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after disable: %v", err)
		}
		if n, _ := e.db.RecoveryCodesLeft(ctx, u.ID); n != 0 {
			t.Fatalf("%d recovery codes after disable", n)
		}
	}},
	{"RecoveryCodesSingleUseAndReplaced", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "codes@example.com", "Cody", "")
		other := mustUser(t, e.db, "other@example.com", "Otto", "")
		if err := e.db.ReplaceRecoveryCodes(ctx, u.ID, [][32]byte{codeHash("one"), codeHash("two")}); err != nil {
			t.Fatal(err)
		}
		// Another account's code does not work for this one.
		if ok, _ := e.db.UseRecoveryCode(ctx, other.ID, codeHash("one")); ok {
			t.Fatal("code used by another account")
		}
		// Ten requests race with one code: one wins.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if ok, err := e.db.UseRecoveryCode(ctx, u.ID, codeHash("wrong"), codeHash("one")); err != nil {
					t.Error(err)
				} else if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("code used %d times", wins.Load())
		}
		if n, _ := e.db.RecoveryCodesLeft(ctx, u.ID); n != 1 {
			t.Fatalf("%d left, want 1", n)
		}
		// Regeneration invalidates the old set.
		if err := e.db.ReplaceRecoveryCodes(ctx, u.ID, [][32]byte{codeHash("three")}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := e.db.UseRecoveryCode(ctx, u.ID, codeHash("two")); ok {
			t.Fatal("a code of the old set still works")
		}
		if ok, _ := e.db.UseRecoveryCode(ctx, u.ID, codeHash("three")); !ok {
			t.Fatal("a code of the new set does not work")
		}
		if err := e.db.ReplaceRecoveryCodes(ctx, u.ID, [][32]byte{{}}); !errors.Is(err, ErrInvalid) && err == nil {
			t.Fatal("an empty hash was stored")
		}
	}},
	{"ResetSecondFactors", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "reset@example.com", "Rita", "")
		if removed, err := e.db.ResetSecondFactors(ctx, u.ID); removed || err != nil {
			t.Fatalf("nothing to reset: %v %v", removed, err)
		}
		sealed := []byte("a sealed secret value")
		if err := e.db.StartTOTP(ctx, u.ID, sealed); err != nil {
			t.Fatal(err)
		}
		if err := e.db.ConfirmTOTP(ctx, u.ID, sealed, 5, [][32]byte{codeHash("x")}); err != nil {
			t.Fatal(err)
		}
		if removed, err := e.db.ResetSecondFactors(ctx, u.ID); !removed || err != nil {
			t.Fatalf("reset: %v %v", removed, err)
		}
		if _, err := e.db.UserTOTP(ctx, u.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("key after reset: %v", err)
		}
		if n, _ := e.db.RecoveryCodesLeft(ctx, u.ID); n != 0 {
			t.Fatalf("%d codes after reset", n)
		}
	}},
}
