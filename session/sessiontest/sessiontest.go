// Package sessiontest checks an implementation of session.Index against
// the contract that session.Manager relies on, so that an index kept in a
// database behaves exactly like session.NewMemoryIndex.
package sessiontest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/session"
)

// NewIndex returns a new, empty index for one test, and a function that
// makes a user the index accepts: a database index needs the user to exist.
type NewIndex func(t *testing.T) (index session.Index, newUser func() int64)

// TestIndex runs every case of the Index contract, each on its own index.
func TestIndex(t *testing.T, newIndex NewIndex) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			index, newUser := newIndex(t)
			c.run(t, index, newUser)
		})
	}
}

// Hash returns a random value shaped like a session hash (64 hex digits).
func Hash() string {
	sum := sha256.Sum256([]byte(rand.Text()))
	return hex.EncodeToString(sum[:])
}

// stamp is a time as every index can keep it: UTC, whole microseconds.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func hashes(list []session.Info) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Hash)
	}
	slices.Sort(out)
	return out
}

func sorted(h ...string) []string {
	h = slices.Clone(h)
	slices.Sort(h)
	return h
}

var cases = []struct {
	name string
	run  func(t *testing.T, x session.Index, newUser func() int64)
}{
	{"add, has, list round trip", func(t *testing.T, x session.Index, newUser func() int64) {
		ctx := t.Context()
		user := newUser()
		now := stamp(time.Now())
		want := session.Info{
			Hash: Hash(), UserID: user, CreatedAt: now.Add(-time.Hour), LastSeen: now.Add(-time.Minute),
			Expiry: now.Add(time.Hour), IP: "192.0.2.7", UserAgent: "Firefox",
		}
		if err := x.Add(ctx, want); err != nil {
			t.Fatalf("Add: %v", err)
		}
		if ok, err := x.Has(ctx, want.Hash); err != nil || !ok {
			t.Fatalf("Has(added) = %v, %v; want true", ok, err)
		}
		if ok, err := x.Has(ctx, Hash()); err != nil || ok {
			t.Fatalf("Has(unknown) = %v, %v; want false, nil", ok, err)
		}
		list, err := x.List(ctx, user, now)
		if err != nil || len(list) != 1 {
			t.Fatalf("List = %+v, %v; want the one session", list, err)
		}
		got := list[0]
		if got.Hash != want.Hash || got.UserID != user || !got.CreatedAt.Equal(want.CreatedAt) ||
			!got.LastSeen.Equal(want.LastSeen) || !got.Expiry.Equal(want.Expiry) ||
			got.IP != want.IP || got.UserAgent != want.UserAgent || got.Current {
			t.Fatalf("List read back %+v, want %+v", got, want)
		}
		if got.ID() == "" || got.ID() != want.ID() {
			t.Fatalf("ID() = %q, want %q", got.ID(), want.ID())
		}
	}},

	{"a hash is added once", func(t *testing.T, x session.Index, newUser func() int64) {
		ctx := t.Context()
		s := session.Info{Hash: Hash(), UserID: newUser(), CreatedAt: stamp(time.Now()), Expiry: stamp(time.Now().Add(time.Hour))}
		if err := x.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
		s.UserID = newUser()
		if err := x.Add(ctx, s); err == nil {
			t.Fatal("Add of an indexed hash succeeded: another user could take the session over")
		}
	}},

	{"list: only the user's live sessions", func(t *testing.T, x session.Index, newUser func() int64) {
		ctx := t.Context()
		alice, mallory := newUser(), newUser()
		now := stamp(time.Now())
		add := func(user int64, expiry time.Time) string {
			t.Helper()
			h := Hash()
			if err := x.Add(ctx, session.Info{Hash: h, UserID: user, CreatedAt: now.Add(-2 * time.Hour), Expiry: expiry}); err != nil {
				t.Fatalf("Add: %v", err)
			}
			return h
		}
		a1, a2 := add(alice, now.Add(time.Hour)), add(alice, now.Add(time.Minute))
		add(alice, now.Add(-time.Second)) // expired
		add(alice, now)                   // expires now: not after now
		m1 := add(mallory, now.Add(time.Hour))
		list, err := x.List(ctx, alice, now)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := hashes(list), sorted(a1, a2); !slices.Equal(got, want) {
			t.Fatalf("List(alice) = %q, want %q", got, want)
		}
		list, _ = x.List(ctx, mallory, now)
		if got := hashes(list); !slices.Equal(got, []string{m1}) {
			t.Fatalf("List(mallory) = %q, want %q", got, m1)
		}
		if list, err := x.List(ctx, newUser(), now); err != nil || len(list) != 0 {
			t.Fatalf("List(user without sessions) = %+v, %v", list, err)
		}
	}},

	{"touch records use; unknown is ErrNotFound", func(t *testing.T, x session.Index, newUser func() int64) {
		ctx := t.Context()
		user := newUser()
		now := stamp(time.Now())
		h := Hash()
		if err := x.Add(ctx, session.Info{Hash: h, UserID: user, CreatedAt: now, LastSeen: now, Expiry: now.Add(time.Hour), IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		seen := now.Add(time.Minute)
		if err := x.Touch(ctx, h, seen, "198.51.100.4"); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		list, _ := x.List(ctx, user, now)
		if len(list) != 1 || !list[0].LastSeen.Equal(seen) || list[0].IP != "198.51.100.4" || !list[0].CreatedAt.Equal(now) {
			t.Fatalf("after Touch: %+v", list)
		}
		if err := x.Touch(ctx, Hash(), seen, "x"); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Touch(unknown) = %v, want an error wrapping session.ErrNotFound", err)
		}
	}},

	{"remove, and remove unknown", func(t *testing.T, x session.Index, newUser func() int64) {
		ctx := t.Context()
		user := newUser()
		now := stamp(time.Now())
		h := Hash()
		if err := x.Add(ctx, session.Info{Hash: h, UserID: user, CreatedAt: now, Expiry: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := x.Remove(ctx, h); err != nil {
				t.Fatalf("Remove: %v (removing an unknown hash is not an error)", err)
			}
		}
		if ok, err := x.Has(ctx, h); err != nil || ok {
			t.Fatalf("Has after Remove = %v, %v", ok, err)
		}
		if err := x.Touch(ctx, h, now, ""); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("Touch after Remove = %v, want ErrNotFound", err)
		}
	}},

	{"remove all returns the user's hashes, expired ones too", func(t *testing.T, x session.Index, newUser func() int64) {
		ctx := t.Context()
		alice, bob := newUser(), newUser()
		now := stamp(time.Now())
		var want []string
		for _, exp := range []time.Duration{time.Hour, time.Minute, -time.Hour} {
			h := Hash()
			want = append(want, h)
			if err := x.Add(ctx, session.Info{Hash: h, UserID: alice, CreatedAt: now.Add(-2 * time.Hour), Expiry: now.Add(exp)}); err != nil {
				t.Fatal(err)
			}
		}
		b := Hash()
		if err := x.Add(ctx, session.Info{Hash: b, UserID: bob, CreatedAt: now, Expiry: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		got, err := x.RemoveAll(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sorted(got...), sorted(want...); !slices.Equal(got, want) {
			t.Fatalf("RemoveAll = %q, want %q", got, want)
		}
		if list, _ := x.List(ctx, alice, now.Add(-3*time.Hour)); len(list) != 0 {
			t.Fatalf("alice still has %d sessions", len(list))
		}
		if ok, _ := x.Has(ctx, b); !ok {
			t.Fatal("RemoveAll(alice) removed bob's session")
		}
		if got, err := x.RemoveAll(ctx, alice); err != nil || len(got) != 0 {
			t.Fatalf("RemoveAll again = %q, %v; want nothing", got, err)
		}
	}},

	{"concurrent use", func(t *testing.T, x session.Index, newUser func() int64) {
		ctx := t.Context()
		users := []int64{newUser(), newUser(), newUser(), newUser()}
		var wg sync.WaitGroup
		errc := make(chan error, len(users)*10*4)
		for _, user := range users {
			wg.Go(func() {
				for range 10 {
					h := Hash()
					now := time.Now()
					errc <- x.Add(ctx, session.Info{Hash: h, UserID: user, CreatedAt: now, Expiry: now.Add(time.Hour)})
					errc <- x.Touch(ctx, h, time.Now(), "192.0.2.1")
					_, err := x.List(ctx, user, time.Now())
					errc <- err
					_, err = x.Has(ctx, h)
					errc <- err
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, user := range users {
			if got, err := x.RemoveAll(ctx, user); err != nil || len(got) != 10 {
				t.Fatalf("RemoveAll = %d hashes, %v; want 10", len(got), err)
			}
		}
	}},
}
