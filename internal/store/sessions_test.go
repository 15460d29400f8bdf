package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/session"
	"github.com/bulwarkhq/bulwark/session/sessiontest"
)

// testHash returns a value shaped like a session hash, named by s.
func testHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// userMaker returns a function that creates a new user in db.
func userMaker(t *testing.T, db *DB) func() int64 {
	var n atomic.Int64
	return func() int64 {
		u := &User{Email: fmt.Sprintf("user%d@example.com", n.Add(1)), Name: "User"}
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		return u.ID
	}
}

// TestSessionIndex holds the database index to the contract of
// session.Index, on every backend.
func TestSessionIndex(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			sessiontest.TestIndex(t, func(t *testing.T) (session.Index, func() int64) {
				db := openMigrated(t, b.fresh(t))
				return db.SessionIndex(), userMaker(t, db)
			})
		})
	}
}

// TestSessionIndexStore covers what the database adds to the contract:
// errors, bounds, order, and a schema that refuses raw tokens.
func TestSessionIndexStore(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			db := openMigrated(t, b.fresh(t))
			x, user := db.SessionIndex(), userMaker(t, db)()
			now := time.Now().UTC().Truncate(time.Microsecond)
			add := func(h string, created time.Time) {
				t.Helper()
				err := x.Add(ctx, session.Info{Hash: h, UserID: user, CreatedAt: created, Expiry: now.Add(time.Hour),
					IP: "203.0.113.9\x00", UserAgent: "evil\x00agent\xff" + strings.Repeat("A", 1000)})
				if err != nil {
					t.Fatalf("Add: %v", err)
				}
			}
			old, mid, young := testHash("old"), testHash("mid"), testHash("new")
			add(mid, now.Add(-2*time.Hour))
			add(young, now.Add(-time.Hour))
			add(old, now.Add(-3*time.Hour))
			list, err := x.List(ctx, user, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range list {
				got = append(got, s.Hash)
				if !strings.HasPrefix(s.UserAgent, "evil\uFFFDagent\uFFFD") || len([]rune(s.UserAgent)) != maxUserAgentRunes ||
					s.IP != "203.0.113.9\uFFFD" || !s.LastSeen.Equal(s.CreatedAt) {
					t.Errorf("stored %+v: text not cleaned and bounded, or LastSeen not CreatedAt", s)
				}
			}
			if want := []string{young, mid, old}; !slices.Equal(got, want) {
				t.Errorf("List = %q, want newest first %q", got, want)
			}

			if err := x.Add(ctx, session.Info{Hash: young, UserID: user, Expiry: now.Add(time.Hour)}); !errors.Is(err, ErrDuplicate) {
				t.Errorf("Add(same hash) = %v, want ErrDuplicate", err)
			}
			if err := x.Add(ctx, session.Info{Hash: testHash("ghost"), UserID: user + 100, Expiry: now.Add(time.Hour)}); !errors.Is(err, ErrNotFound) {
				t.Errorf("Add(unknown user) = %v, want ErrNotFound (foreign key)", err)
			}
			rawToken := rand.Text() + rand.Text()[:17] // the length of an scs token
			for _, h := range []string{"", rawToken, testHash("x") + "0", testHash("y")[:63] + "\x00"} {
				if err := x.Add(ctx, session.Info{Hash: h, UserID: user, Expiry: now.Add(time.Hour)}); !errors.Is(err, ErrInvalid) {
					t.Errorf("Add(hash %q) = %v, want ErrInvalid", h, err)
				}
			}
			// The schema refuses a token too, should a caller get past Add.
			_, err = db.w.ExecContext(ctx,
				`INSERT INTO user_sessions (token_hash, user_id, created_at, last_seen, expiry) VALUES ($1, $2, $3, $3, $3)`,
				rawToken, user, db.ts(now))
			if !errors.Is(classify(err), ErrInvalid) {
				t.Errorf("inserting a raw token into user_sessions: %v, want a CHECK violation", err)
			}
		})
	}
}

func TestPruneSessions(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			db := openMigrated(t, b.fresh(t))
			x, user := db.SessionIndex(), userMaker(t, db)()
			now := time.Now()
			for i, exp := range []time.Duration{-time.Hour, -time.Second, time.Hour} {
				if err := x.Add(ctx, session.Info{Hash: testHash(fmt.Sprint(i)), UserID: user, Expiry: now.Add(exp)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.PruneSessions(ctx, now); err != nil {
				t.Fatal(err)
			}
			removed, err := x.RemoveAll(ctx, user)
			if err != nil || !slices.Equal(removed, []string{testHash("2")}) {
				t.Fatalf("left after PruneSessions: %q, %v; want only the unexpired one", removed, err)
			}
		})
	}
}

// TestNoTokenAtRest signs browsers in through session.Manager with this
// index and each session store the service can use, and then reads
// everything the backends hold, as an attacker with a copy would: the
// SQLite file, every row of every table on PostgreSQL, every Redis key and
// value. No session token may appear (finding 7). (Make the session
// package store or index the token itself to see this fail.)
func TestNoTokenAtRest(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			url := b.fresh(t)
			db := openMigrated(t, url)
			var store scs.Store
			if db.Dialect() == DialectSQLite {
				store = sqlite3store.NewWithCleanupInterval(db.SQL(), 0)
			} else {
				store = postgresstore.NewWithCleanupInterval(db.SQL(), 0)
			}
			tokens := signInAndOut(t, db, store)
			checkDump(t, dumpDB(t, db, url), tokens)
		})
	}
	t.Run("redis", func(t *testing.T) {
		addr := testenv.Redis(t)
		url := backends()[0].fresh(t) // the index is in the database, whichever store holds sessions
		db := openMigrated(t, url)
		client := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		prefix := "bulwark:" + rand.Text() + ":"
		tokens := signInAndOut(t, db, goredisstore.NewWithPrefix(client, prefix))

		var dump strings.Builder
		iter := client.Scan(t.Context(), 0, prefix+"*", 100).Iterator()
		for iter.Next(t.Context()) {
			v, err := client.Get(t.Context(), iter.Val()).Result()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&dump, "%s %s\n", iter.Val(), v)
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		checkDump(t, dump.String()+dumpDB(t, db, url), tokens)
	})
}

// signInAndOut runs sign-ins, a value, a password change and a sign-out
// through a session.Manager over store and db's index, and returns every
// session token handed out and the tokens still live.
func signInAndOut(t *testing.T, db *DB, store scs.Store) (tokens []string) {
	t.Helper()
	user := userMaker(t, db)()
	m, err := session.New(store, db.SessionIndex(), session.Config{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	note := m.Value("note")
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch r.URL.Path {
		case "/login":
			err = m.Login(r, user, session.LoginOptions{})
		case "/note":
			note.Put(r.Context(), []byte("a value"))
		case "/password":
			err = m.RenewAndRevokeOthers(r, user)
		case "/logout":
			err = m.Logout(r)
		case "/whoami":
			_, ok := m.UserID(r.Context())
			fmt.Fprint(w, ok)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}))
	do := func(cookie *http.Cookie, path string) *http.Cookie {
		t.Helper()
		r := httptest.NewRequest("POST", "https://bulwark.test"+path, nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		if path == "/whoami" {
			if body, _ := io.ReadAll(rec.Body); string(body) != "true" {
				t.Fatalf("not signed in after the steps")
			}
		}
		for _, c := range rec.Result().Cookies() {
			if c.Value != "" {
				tokens = append(tokens, c.Value)
				return c
			}
		}
		return cookie
	}
	anon := do(nil, "/note") // an anonymous session
	a := do(nil, "/login")
	a = do(a, "/note")
	b := do(nil, "/login")
	a = do(a, "/password") // ends b
	b = do(b, "/login")
	c := do(nil, "/login")
	do(c, "/logout")
	do(a, "/whoami")
	do(b, "/whoami")
	if len(tokens) < 6 || anon == nil {
		t.Fatalf("only %d tokens issued", len(tokens))
	}
	// Live sessions must be in the dump under their hash, or the dump
	// proves nothing: checkDump looks for these first.
	return append([]string{"live:" + a.Value, "live:" + b.Value, "live:" + anon.Value}, tokens...)
}

// checkDump fails if dump holds a token, in text or in hex, and checks that
// the live sessions are in it by hash.
func checkDump(t *testing.T, dump string, tokens []string) {
	t.Helper()
	lower := strings.ToLower(dump)
	for _, tok := range tokens {
		if live, ok := strings.CutPrefix(tok, "live:"); ok {
			if !strings.Contains(dump, testHash(live)) {
				t.Errorf("the dump lacks a live session's hash: it cannot show what is stored")
			}
			continue
		}
		if strings.Contains(dump, tok) || strings.Contains(lower, hex.EncodeToString([]byte(tok))) {
			t.Errorf("the dump holds the session token %q", tok)
		}
	}
}

// dumpDB returns what a copy of db would give an attacker: the SQLite
// files' bytes, or every row of every table on PostgreSQL as text (what
// pg_dump writes).
func dumpDB(t *testing.T, db *DB, url string) string {
	t.Helper()
	if db.Dialect() == DialectSQLite {
		path, err := sqlitePath(url)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			data, err := os.ReadFile(p)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return b.String()
	}
	ctx := t.Context()
	rows, err := db.r.QueryContext(ctx,
		`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if !slices.Contains(tables, "sessions") || !slices.Contains(tables, "user_sessions") {
		t.Fatalf("tables %q: the session tables are missing", tables)
	}
	var b strings.Builder
	for _, table := range tables {
		var s string
		// Identifiers cannot be parameters; these come from the catalog.
		q := `SELECT coalesce(string_agg(t::text, E'\n'), '') FROM ` + pgx.Identifier{table}.Sanitize() + ` t`
		if err := db.r.QueryRowContext(ctx, q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		fmt.Fprintf(&b, "%s:\n%s\n", table, s)
	}
	return b.String()
}

// TestMigrationDropsRawTokens applies 0001, stores sessions the way the
// service did before 0002 (raw tokens in both tables), and migrates: those
// rows are gone, the users are not.
func TestMigrationDropsRawTokens(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			db, err := Open(ctx, b.fresh(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			ms, err := migrations(db.Dialect())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.w.ExecContext(ctx, ms[0].sql); err != nil {
				t.Fatalf("0001: %v", err)
			}
			created := db.ts(time.Now())
			var user int64
			err = db.w.QueryRowContext(ctx,
				`INSERT INTO users (email, name, created_at, updated_at) VALUES ('old@example.com', 'Old', $1, $1) RETURNING id`,
				created).Scan(&user)
			if err != nil {
				t.Fatal(err)
			}
			raw := rand.Text()
			if _, err := db.w.ExecContext(ctx,
				`INSERT INTO user_sessions (token, public_id, user_id, created_at, last_seen, expiry) VALUES ($1, $2, $3, $4, $4, $4)`,
				raw, "public", user, created); err != nil {
				t.Fatal(err)
			}
			var old scs.Store = sqlite3store.NewWithCleanupInterval(db.w.DB, 0)
			if db.Dialect() == DialectPostgres {
				old = postgresstore.NewWithCleanupInterval(db.w.DB, 0)
			}
			if err := old.Commit(raw, []byte("data"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			// Migrate makes schema_migrations, then fails on 0001, whose
			// tables exist. Record 0001 as applied, as Migrate would have.
			if err := db.Migrate(ctx); err == nil {
				t.Fatal("Migrate over an unrecorded 0001 succeeded; the setup is wrong")
			}
			if _, err := db.w.ExecContext(ctx,
				`INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, $1, $2)`, ms[0].name, created); err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate: %v", err)
			}
			for _, table := range []string{"sessions", "user_sessions"} {
				var n int
				if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
					t.Errorf("%s after 0002: %d rows, %v; want none", table, n, err)
				}
			}
			if u, err := db.UserByID(ctx, user); err != nil || u.Email != "old@example.com" {
				t.Errorf("the user did not survive 0002: %+v, %v", u, err)
			}
		})
	}
}

// BenchmarkTouchSession is the write a signed-in session makes once per
// TouchInterval.
func BenchmarkTouchSession(b *testing.B) {
	db := openMigrated(b, "sqlite://"+b.TempDir()+"/bulwark.db")
	u := &User{Email: "bench@example.com", Name: "Bench"}
	if err := db.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	x, h := db.SessionIndex(), testHash("bench")
	if err := x.Add(b.Context(), session.Info{Hash: h, UserID: u.ID, Expiry: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := x.Touch(b.Context(), h, time.Now(), "192.0.2.1"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
