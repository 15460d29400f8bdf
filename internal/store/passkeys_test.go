package store

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/passkey"
)

// The passkey cases join the store's table, so they run on every backend
// (TestStore/<backend>/Passkey…).
func init() { cases = append(cases, passkeyCases...) }

func testCredential(id string, handle []byte) passkey.Credential {
	return passkey.Credential{
		ID: []byte(id), UserHandle: handle, PublicKey: []byte("cose key of " + id), SignCount: 5,
		AAGUID: make([]byte, 16), Transports: []string{"internal", "hybrid"}, UserVerified: true,
		AttestationFormat: "none",
	}
}

var passkeyCases = []struct {
	name string
	run  func(t *testing.T, e env)
}{
	{"PasskeyHandleStable", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "handle@example.com", "Hana", "")
		h1, err := e.db.PasskeyHandle(ctx, u.ID)
		if err != nil || len(h1) != PasskeyHandleLen {
			t.Fatalf("handle: %x, %v", h1, err)
		}
		if h2, _ := e.db.PasskeyHandle(ctx, u.ID); !bytes.Equal(h1, h2) {
			t.Fatal("a second call made another handle")
		}
		got, err := e.db.UserByPasskeyHandle(ctx, h1)
		if err != nil || got.ID != u.ID {
			t.Fatalf("user by handle: %v, %v", got, err)
		}
		if _, err := e.db.UserByPasskeyHandle(ctx, make([]byte, PasskeyHandleLen)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown handle: %v", err)
		}
	}},
	{"PasskeyAddListDelete", func(t *testing.T, e env) {
		ctx := t.Context()
		a := mustUser(t, e.db, "pa@example.com", "Pat", "")
		b := mustUser(t, e.db, "pb@example.com", "Bea", "")
		ha, _ := e.db.PasskeyHandle(ctx, a.ID)
		hb, _ := e.db.PasskeyHandle(ctx, b.ID)
		pa := &Passkey{UserID: a.ID, Name: "Laptop", Credential: testCredential("cred-a", ha)}
		if err := e.db.AddPasskey(ctx, pa); err != nil || pa.ID == 0 {
			t.Fatalf("add: %v", err)
		}
		// One credential id cannot be registered twice, even to another account.
		dup := &Passkey{UserID: b.ID, Name: "Copy", Credential: testCredential("cred-a", hb)}
		if err := e.db.AddPasskey(ctx, dup); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("duplicate credential id: %v", err)
		}
		pb := &Passkey{UserID: b.ID, Name: "Phone", Credential: testCredential("cred-b", hb)}
		if err := e.db.AddPasskey(ctx, pb); err != nil {
			t.Fatal(err)
		}
		list, err := e.db.UserPasskeys(ctx, a.ID)
		if err != nil || len(list) != 1 || list[0].Name != "Laptop" || !bytes.Equal(list[0].Credential.UserHandle, ha) ||
			list[0].Credential.SignCount != 5 || len(list[0].Credential.Transports) != 2 || !list[0].Credential.UserVerified {
			t.Fatalf("list: %+v, %v", list, err)
		}
		creds, err := e.db.PasskeyStore().Credentials(ctx, hb)
		if err != nil || len(creds) != 1 || string(creds[0].ID) != "cred-b" {
			t.Fatalf("credentials of b: %+v, %v", creds, err)
		}
		// Another user's passkey id is not found, and stays.
		if _, err := e.db.DeletePasskey(ctx, a.ID, pb.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete another user's passkey: %v", err)
		}
		if name, err := e.db.DeletePasskey(ctx, b.ID, pb.ID); err != nil || name != "Phone" {
			t.Fatalf("delete own: %q, %v", name, err)
		}
		// The operator's reset removes passkeys with the other second factors.
		if removed, err := e.db.ResetSecondFactors(ctx, a.ID); !removed || err != nil {
			t.Fatalf("reset: %v, %v", removed, err)
		}
		if list, _ := e.db.UserPasskeys(ctx, a.ID); len(list) != 0 {
			t.Fatalf("passkeys after the reset: %+v", list)
		}
		bad := &Passkey{UserID: a.ID, Name: "", Credential: testCredential("cred-c", ha)}
		if err := e.db.AddPasskey(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("empty name: %v", err)
		}
	}},
	{"PasskeySignCounterCompareAndSwap", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "cas@example.com", "Cas", "")
		h, _ := e.db.PasskeyHandle(ctx, u.ID)
		if err := e.db.AddPasskey(ctx, &Passkey{UserID: u.ID, Name: "Key", Credential: testCredential("cred", h)}); err != nil {
			t.Fatal(err)
		}
		ps := e.db.PasskeyStore()
		// Ten instances move the counter from 5 to 6 at once: one wins.
		// (Drop "AND sign_count = $2" from RecordSignIn to see them all win.)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if ok, err := ps.RecordSignIn(ctx, []byte("cred"), 5, 6, false); err != nil {
					t.Error(err)
				} else if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d sign-ins moved the counter from 5, want 1", wins.Load())
		}
		k, err := e.db.PasskeyByCredentialID(ctx, []byte("cred"))
		if err != nil || k.Credential.SignCount != 6 || k.LastUsed.IsZero() {
			t.Fatalf("after the sign-in: %+v, %v", k, err)
		}
		if ok, _ := ps.RecordSignIn(ctx, []byte("cred"), 5, 4000000000, false); ok {
			t.Fatal("a stale old counter was accepted")
		}
		if ok, err := ps.RecordSignIn(ctx, []byte("cred"), 6, 4000000000, true); !ok || err != nil {
			t.Fatalf("counter beyond int32: %v %v", ok, err)
		}
		if k, _ := e.db.PasskeyByCredentialID(ctx, []byte("cred")); k.Credential.SignCount != 4000000000 || !k.Credential.BackupState {
			t.Fatalf("stored: %+v", k.Credential)
		}
	}},
	{"PasskeyChallengeSingleUse", func(t *testing.T, e env) {
		ctx := t.Context()
		ps := e.db.PasskeyStore()
		if err := ps.Save(ctx, "challenge-one", []byte(`{"state":1}`), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// Ten requests present the same id at once: one gets the state.
		// (Make Take a SELECT without the DELETE to see them all get it.)
		var got atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				st, err := ps.Take(ctx, "challenge-one")
				switch {
				case err == nil && string(st) == `{"state":1}`:
					got.Add(1)
				case !errors.Is(err, passkey.ErrNoChallenge):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got.Load() != 1 {
			t.Fatalf("%d takes got the challenge, want 1", got.Load())
		}
		// An expired challenge is refused, and swept by the next Save.
		if err := ps.Save(ctx, "old", []byte("x"), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.Take(ctx, "old"); !errors.Is(err, passkey.ErrNoChallenge) {
			t.Fatalf("expired: %v", err)
		}
		ps.Save(ctx, "old2", []byte("x"), time.Now().Add(-time.Second))
		ps.Save(ctx, "new", []byte("x"), time.Now().Add(time.Minute))
		var n int
		e.db.w.QueryRowContext(ctx, `SELECT count(*) FROM passkey_challenges`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d challenges kept, want only the live one", n)
		}
	}},
}
