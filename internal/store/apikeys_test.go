package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// The API-key cases join the store's table, so they run on every backend
// with the others (TestStore/<backend>/APIKey…).
func init() { cases = append(cases, apiKeyCases...) }

// newKey creates a key for user with scopes and returns it and its
// plaintext.
func newKey(t *testing.T, db *DB, user int64, scopes ...apikey.Scope) (*apikey.Key, string) {
	t.Helper()
	tok, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k := &apikey.Key{ID: tok.ID, UserID: user, Name: "deploy bot", Hash: apikey.Hash(tok.Plaintext), Scopes: scopes}
	if err := db.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return k, tok.Plaintext
}

var apiKeyCases = []struct {
	name string
	run  func(t *testing.T, e env)
}{
	{"APIKeyCreateAndLookup", func(t *testing.T, e env) {
		ctx := t.Context()
		admin := &User{Email: "root@example.com", Name: "Root", Admin: true}
		if err := e.db.CreateUser(ctx, admin); err != nil {
			t.Fatal(err)
		}
		tok, _ := apikey.Generate()
		expires := time.Now().Add(90 * 24 * time.Hour)
		k := &apikey.Key{ID: tok.ID, UserID: admin.ID, Name: "ci", Hash: apikey.Hash(tok.Plaintext),
			Scopes: []apikey.Scope{apikey.FilesWrite, apikey.UsersWrite, apikey.FilesWrite}, ExpiresAt: expires}
		if err := e.db.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if !k.Admin || !slices.Equal(k.Scopes, []apikey.Scope{apikey.UsersWrite, apikey.FilesWrite}) || k.CreatedAt.IsZero() {
			t.Fatalf("after CreateAPIKey: %+v", k)
		}
		got, err := e.db.KeyByID(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != k.ID || got.UserID != admin.ID || !got.Admin || got.Name != "ci" || got.Hash != apikey.Hash(tok.Plaintext) ||
			!slices.Equal(got.Scopes, k.Scopes) || !got.CreatedAt.Equal(k.CreatedAt) || got.CreatedAt.Location() != time.UTC ||
			!got.ExpiresAt.Equal(expires.Truncate(time.Microsecond)) || !got.LastUsed.IsZero() || !got.RevokedAt.IsZero() {
			t.Fatalf("KeyByID = %+v\nwant %+v", got, k)
		}
		for _, id := range []string{"zzzzzzzz", "", "x", tok.ID + "0", strings.ToLower(tok.ID) + "'--"} {
			if id == tok.ID {
				continue
			}
			_, err := e.db.KeyByID(ctx, id)
			if !errors.Is(err, ErrNotFound) || !errors.Is(err, apikey.ErrNotFound) {
				t.Errorf("KeyByID(%q) err = %v, want store.ErrNotFound and apikey.ErrNotFound", id, err)
			}
		}
		// The owner loses admin: Admin follows, read at every lookup.
		if _, err := e.db.w.ExecContext(ctx, `UPDATE users SET admin = $2 WHERE id = $1`, admin.ID, false); err != nil {
			t.Fatal(err)
		}
		if got, err := e.db.KeyByID(ctx, tok.ID); err != nil || got.Admin || got.Has(apikey.UsersWrite) {
			t.Fatalf("after demotion: %+v, %v", got, err)
		}
	}},

	// Remove "AND user_id = $2" from RevokeAPIKey and one user can revoke
	// another's keys.
	{"APIKeyOfAnotherUserIsNotFound", func(t *testing.T, e env) {
		ctx := t.Context()
		mk := userMaker(t, e.db)
		alice, mallory := mk(), mk()
		k, _ := newKey(t, e.db, alice, apikey.FilesRead)
		if err := e.db.RevokeAPIKey(ctx, mallory, k.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RevokeAPIKey(another user's key) err = %v, want ErrNotFound", err)
		}
		if got, _ := e.db.KeyByID(ctx, k.ID); got.Revoked() {
			t.Fatal("another user revoked the key")
		}
		if keys, err := e.db.UserAPIKeys(ctx, mallory); err != nil || len(keys) != 0 {
			t.Fatalf("UserAPIKeys(mallory) = %v, %v; want none", keys, err)
		}
		if err := e.db.RevokeAPIKey(ctx, alice, "zzzzzzzz"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RevokeAPIKey(unknown) err = %v", err)
		}
	}},

	{"APIKeyRevoke", func(t *testing.T, e env) {
		ctx := t.Context()
		user := userMaker(t, e.db)()
		k, _ := newKey(t, e.db, user, apikey.FilesRead)
		if err := e.db.RevokeAPIKey(ctx, user, k.ID); err != nil {
			t.Fatal(err)
		}
		first, err := e.db.KeyByID(ctx, k.ID)
		if err != nil || !first.Revoked() {
			t.Fatalf("after RevokeAPIKey: %+v, %v", first, err)
		}
		time.Sleep(2 * time.Millisecond)
		if err := e.db.RevokeAPIKey(ctx, user, k.ID); err != nil {
			t.Fatalf("revoking again: %v", err)
		}
		if err := e.db.RevokeAPIKeyByID(ctx, k.ID); err != nil {
			t.Fatalf("RevokeAPIKeyByID: %v", err)
		}
		if again, _ := e.db.KeyByID(ctx, k.ID); !again.RevokedAt.Equal(first.RevokedAt) {
			t.Fatalf("revoking again moved the time: %v → %v", first.RevokedAt, again.RevokedAt)
		}
		other, _ := newKey(t, e.db, user, apikey.FilesRead)
		if err := e.db.RevokeAPIKeyByID(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.db.KeyByID(ctx, other.ID); !got.Revoked() {
			t.Fatal("RevokeAPIKeyByID did not revoke")
		}
		if err := e.db.RevokeAPIKeyByID(ctx, "zzzzzzzz"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RevokeAPIKeyByID(unknown) err = %v", err)
		}
	}},

	// Remove the admin check in CreateAPIKey and a non-admin's key gets
	// users:write.
	{"APIKeyRefusesBadValues", func(t *testing.T, e env) {
		ctx := t.Context()
		user := userMaker(t, e.db)()
		tok, _ := apikey.Generate()
		good := func() *apikey.Key {
			return &apikey.Key{ID: tok.ID, UserID: user, Name: "n", Hash: apikey.Hash(tok.Plaintext), Scopes: []apikey.Scope{apikey.FilesRead}}
		}
		with := func(f func(k *apikey.Key)) error { k := good(); f(k); return e.db.CreateAPIKey(ctx, k) }
		for _, c := range []struct {
			what string
			err  error
			want error
		}{
			{"users:write for a non-admin", with(func(k *apikey.Key) { k.Scopes = []apikey.Scope{apikey.UsersWrite} }), ErrInvalid},
			{"no scope", with(func(k *apikey.Key) { k.Scopes = nil }), ErrInvalid},
			{"unknown scope", with(func(k *apikey.Key) { k.Scopes = []apikey.Scope{"admin"} }), ErrInvalid},
			{"empty name", with(func(k *apikey.Key) { k.Name = "" }), ErrInvalid},
			{"101-char name", with(func(k *apikey.Key) { k.Name = strings.Repeat("é", 101) }), ErrInvalid},
			{"NUL in name", with(func(k *apikey.Key) { k.Name = "a\x00" }), ErrInvalid},
			{"short id", with(func(k *apikey.Key) { k.ID = "abc" }), ErrInvalid},
			{"no hash", with(func(k *apikey.Key) { k.Hash = [32]byte{} }), ErrInvalid},
			{"unknown owner", with(func(k *apikey.Key) { k.UserID = user + 99 }), ErrNotFound},
		} {
			if !errors.Is(c.err, c.want) {
				t.Errorf("%s: err = %v, want %v", c.what, c.err, c.want)
			}
		}
		if err := e.db.CreateAPIKey(ctx, good()); err != nil {
			t.Fatal(err)
		}
		if err := e.db.CreateAPIKey(ctx, good()); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("same id twice: err = %v, want ErrDuplicate", err)
		}
		// The schema holds a hash of 32 bytes only, even for SQL that
		// bypasses the Go code: a plaintext key cannot be stored by mistake.
		_, err := e.db.w.ExecContext(ctx,
			`INSERT INTO api_keys (id, user_id, name, hash, scopes, created_at) VALUES ('AAAAAAAA', $1, 'x', $2, 'files:read', $3)`,
			user, []byte(tok.Plaintext), e.db.ts(now()))
		if err == nil {
			t.Fatal("raw INSERT of a plaintext key as the hash succeeded: CHECK constraint missing")
		}
	}},

	{"APIKeyTouchOnlyMovesForward", func(t *testing.T, e env) {
		ctx := t.Context()
		k, _ := newKey(t, e.db, userMaker(t, e.db)(), apikey.FilesRead)
		t1 := time.Now().UTC().Truncate(time.Microsecond)
		for _, at := range []time.Time{t1, t1.Add(-time.Minute), t1} {
			if err := e.db.TouchKey(ctx, k.ID, at); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := e.db.KeyByID(ctx, k.ID); !got.LastUsed.Equal(t1) {
			t.Fatalf("LastUsed = %v, want %v", got.LastUsed, t1)
		}
		t2 := t1.Add(time.Minute)
		if err := e.db.TouchKey(ctx, k.ID, t2); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.db.KeyByID(ctx, k.ID); !got.LastUsed.Equal(t2) {
			t.Fatalf("LastUsed = %v, want %v", got.LastUsed, t2)
		}
		if err := e.db.TouchKey(ctx, "zzzzzzzz", t2); err != nil {
			t.Fatalf("TouchKey(unknown) = %v, want nil", err)
		}
	}},

	{"APIKeyListNewestFirst", func(t *testing.T, e env) {
		ctx := t.Context()
		mk := userMaker(t, e.db)
		user := mk()
		newKey(t, e.db, mk(), apikey.FilesRead) // someone else's
		var ids []string
		for i := range 3 {
			tok, _ := apikey.Generate()
			k := &apikey.Key{ID: tok.ID, UserID: user, Name: fmt.Sprint("key ", i), Hash: apikey.Hash(tok.Plaintext),
				Scopes: []apikey.Scope{apikey.FilesRead}, CreatedAt: time.Now().Add(time.Duration(i) * time.Second)}
			if err := e.db.CreateAPIKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			ids = append([]string{tok.ID}, ids...)
		}
		if err := e.db.RevokeAPIKey(ctx, user, ids[1]); err != nil {
			t.Fatal(err)
		}
		keys, err := e.db.UserAPIKeys(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range keys {
			got = append(got, k.ID)
			if k.Hash != ([32]byte{}) {
				t.Error("UserAPIKeys returned a hash")
			}
		}
		if !slices.Equal(got, ids) || !keys[1].Revoked() || keys[0].Revoked() {
			t.Fatalf("UserAPIKeys = %v (revoked %v), want %v with the middle one revoked", got, keys[1].Revoked(), ids)
		}
	}},

	{"APIKeysGoWithTheirUser", func(t *testing.T, e env) {
		ctx := t.Context()
		user := userMaker(t, e.db)()
		k, _ := newKey(t, e.db, user, apikey.FilesRead)
		if _, err := e.db.w.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, user); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.KeyByID(ctx, k.ID); !errors.Is(err, apikey.ErrNotFound) {
			t.Fatalf("key of a deleted user: err = %v, want not found", err)
		}
	}},

	// The middleware over the database, as the service runs it: a key
	// revoked through one instance stops at the very next request on
	// another (no cache). Add a cache to apikey and this fails.
	{"APIKeyRevocationReachesEveryInstance", func(t *testing.T, e env) {
		ctx := t.Context()
		user := userMaker(t, e.db)()
		k, plaintext := newKey(t, e.db, user, apikey.FilesRead)
		other := openMigrated(t, e.url) // a second instance on the same database
		auth, err := apikey.New(apikey.Options{Store: other})
		if err != nil {
			t.Fatal(err)
		}
		h := auth.Handler(auth.Require(apikey.FilesRead, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
		status := func() int {
			r := httptest.NewRequest("GET", "/api/files", nil)
			r.Header.Set("Authorization", "Bearer "+plaintext)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			return rec.Code
		}
		for range 3 {
			if code := status(); code != 200 {
				t.Fatalf("valid key: %d", code)
			}
		}
		if got, _ := e.db.KeyByID(ctx, k.ID); got.LastUsed.IsZero() {
			t.Fatal("last use not recorded")
		}
		if err := e.db.RevokeAPIKey(ctx, user, k.ID); err != nil {
			t.Fatal(err)
		}
		if code := status(); code != 401 {
			t.Fatalf("revoked key on another instance: %d, want 401", code)
		}
	}},

	// Remove apikey.Hash from the key's way into the table (store the
	// plaintext) and a dump holds working keys.
	{"APIKeyDumpHoldsOnlyHashes", func(t *testing.T, e env) {
		user := userMaker(t, e.db)()
		k, plaintext := newKey(t, e.db, user, apikey.FilesRead)
		dump := dumpDB(t, e.db, e.url)
		if !strings.Contains(dump, string(k.Hash[:])) && !strings.Contains(dump, hex.EncodeToString(k.Hash[:])) {
			t.Fatal("the dump lacks the key's hash: it cannot show what is stored")
		}
		secret := plaintext[len(apikey.Prefix)+apikey.IDLen:]
		if strings.Contains(dump, secret) || strings.Contains(strings.ToLower(dump), hex.EncodeToString([]byte(secret))) {
			t.Fatal("the dump holds the key's secret")
		}
	}},
}

// BenchmarkKeyByID is the one read an API request makes: SQLite's reader
// pool, and PostgreSQL on loopback.
func BenchmarkKeyByID(b *testing.B) {
	for _, c := range []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite://" + b.TempDir() + "/bulwark.db" }},
		{"postgres", func(b *testing.B) string { return testenv.Postgres(b) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			db := openMigrated(b, c.url(b))
			u := &User{Email: "bench@example.com", Name: "Bench"}
			if err := db.CreateUser(b.Context(), u); err != nil {
				b.Fatal(err)
			}
			tok, _ := apikey.Generate()
			k := &apikey.Key{ID: tok.ID, UserID: u.ID, Name: "bench", Hash: apikey.Hash(tok.Plaintext), Scopes: []apikey.Scope{apikey.FilesRead}}
			if err := db.CreateAPIKey(b.Context(), k); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := db.KeyByID(b.Context(), tok.ID); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
