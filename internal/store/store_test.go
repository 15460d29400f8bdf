package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/session"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// backend makes fresh, empty databases of one dialect.
type backend struct {
	name  string
	fresh func(t *testing.T) string // URL of a new empty database
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "data", "bulwark.db")
		}},
		{"postgres", func(t *testing.T) string { return testenv.Postgres(t) }},
	}
}

// openMigrated opens url, migrates it and closes it when the test ends.
func openMigrated(t testing.TB, url string) *DB {
	t.Helper()
	db, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// env is what a case gets: a migrated database and the means to make more.
type env struct {
	db  *DB
	url string
	b   backend
}

func mustUser(t *testing.T, db *DB, email, name, bio string) *User {
	t.Helper()
	u := &User{Email: email, Name: name, Bio: bio, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}
	if err := db.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

func names(users []User) []string {
	var out []string
	for _, u := range users {
		out = append(out, u.Name)
	}
	return out
}

func search(t *testing.T, db *DB, q string) []string {
	t.Helper()
	users, err := db.SearchUsers(t.Context(), q, 100)
	if err != nil {
		t.Fatalf("SearchUsers(%q): %v", q, err)
	}
	return names(users)
}

// cases run unchanged on every backend.
var cases = []struct {
	name string
	run  func(t *testing.T, e env)
}{
	{"CreateAndGetUsers", func(t *testing.T, e env) {
		ctx := t.Context()
		before := time.Now().Add(-time.Second)
		u := &User{Email: "  Ada@Example.COM ", Name: "Ada Lovelace", Bio: "Analyst", Admin: true, PasswordHash: "scrypt:32768:8:1$salt$hash"}
		if err := e.db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if u.ID <= 0 || u.Email != "ada@example.com" {
			t.Fatalf("after CreateUser: ID=%d Email=%q", u.ID, u.Email)
		}
		if u.CreatedAt.Location() != time.UTC || u.CreatedAt.Before(before) || !u.UpdatedAt.Equal(u.CreatedAt) {
			t.Fatalf("CreatedAt=%v UpdatedAt=%v", u.CreatedAt, u.UpdatedAt)
		}
		for _, email := range []string{"ada@example.com", "ADA@EXAMPLE.COM", " Ada@example.com\t"} {
			got, err := e.db.UserByEmail(ctx, email)
			if err != nil {
				t.Fatalf("UserByEmail(%q): %v", email, err)
			}
			if *got != *u {
				t.Fatalf("UserByEmail(%q) = %+v, want %+v", email, *got, *u)
			}
		}
		got, err := e.db.UserByID(ctx, u.ID)
		if err != nil || *got != *u {
			t.Fatalf("UserByID = %+v, %v; want %+v", got, err, *u)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Fatalf("read CreatedAt not in UTC: %v", got.CreatedAt)
		}
		if _, err := e.db.UserByID(ctx, u.ID+1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UserByID(unknown) err = %v, want ErrNotFound", err)
		}
		if _, err := e.db.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UserByEmail(unknown) err = %v, want ErrNotFound", err)
		}
		mustUser(t, e.db, "bob@example.com", "Bob", "")
		if n, err := e.db.CountUsers(ctx); err != nil || n != 2 {
			t.Fatalf("CountUsers = %d, %v; want 2", n, err)
		}
	}},

	{"DuplicateEmailInOtherCase", func(t *testing.T, e env) {
		first := mustUser(t, e.db, "eve@example.com", "Eve", "")
		// Taking over an account by registering its email in another case.
		for _, email := range []string{"eve@example.com", "EVE@example.com", " Eve@Example.Com "} {
			err := e.db.CreateUser(t.Context(), &User{Email: email, Name: "Mallory"})
			if !errors.Is(err, ErrDuplicate) {
				t.Fatalf("CreateUser(%q) err = %v, want ErrDuplicate", email, err)
			}
		}
		got, err := e.db.UserByEmail(t.Context(), "EVE@EXAMPLE.COM")
		if err != nil || got.ID != first.ID || got.Name != "Eve" {
			t.Fatalf("UserByEmail = %+v, %v; want the first Eve", got, err)
		}
	}},

	{"UpdateProfileAndPassword", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "carol@example.com", "Carol", "old bio")
		time.Sleep(2 * time.Millisecond)
		if err := e.db.UpdateProfile(ctx, u.ID, "Carol B.", "new bio"); err != nil {
			t.Fatal(err)
		}
		if v, err := e.db.SetPassword(ctx, u.ID, "$argon2id$new"); err != nil || v != u.CredentialVersion+1 {
			t.Fatalf("SetPassword = %d, %v; want version %d", v, err, u.CredentialVersion+1)
		}
		// A rehash computed from the old hash must not overwrite the new
		// one (the race of a sign-in with a password change).
		if err := e.db.RehashPassword(ctx, u.ID, u.PasswordHash, "$argon2id$stale"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("RehashPassword(stale old hash) err = %v, want ErrNotFound", err)
		}
		if err := e.db.RehashPassword(ctx, u.ID, "$argon2id$new", "$argon2id$newer"); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Carol B." || got.Bio != "new bio" || got.PasswordHash != "$argon2id$newer" || got.CredentialVersion != u.CredentialVersion+1 {
			t.Fatalf("after updates: %+v", got)
		}
		if !got.UpdatedAt.After(got.CreatedAt) || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("CreatedAt=%v UpdatedAt=%v", got.CreatedAt, got.UpdatedAt)
		}
		if err := e.db.UpdateProfile(ctx, u.ID+99, "X", ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UpdateProfile(unknown) err = %v, want ErrNotFound", err)
		}
		if _, err := e.db.SetPassword(ctx, u.ID+99, "x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetPassword(unknown) err = %v, want ErrNotFound", err)
		}
	}},

	{"SchemaRefusesBadValues", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "dan@example.com", "Dan", "")
		long := func(n int) string { return strings.Repeat("é", n) } // counted in characters, not bytes
		for _, c := range []struct {
			what string
			err  error
		}{
			{"empty name", e.db.CreateUser(ctx, &User{Email: "a1@example.com", Name: ""})},
			{"101-char name", e.db.CreateUser(ctx, &User{Email: "a2@example.com", Name: long(101)})},
			{"501-char bio", e.db.CreateUser(ctx, &User{Email: "a3@example.com", Name: "A", Bio: long(501)})},
			{"2-char email", e.db.CreateUser(ctx, &User{Email: "a@", Name: "A"})},
			{"NUL in name", e.db.CreateUser(ctx, &User{Email: "a4@example.com", Name: "A\x00B"})},
			{"invalid UTF-8 bio", e.db.CreateUser(ctx, &User{Email: "a5@example.com", Name: "A", Bio: "\xff"})},
			{"profile: 101-char name", e.db.UpdateProfile(ctx, u.ID, long(101), "")},
			{"profile: 501-char bio", e.db.UpdateProfile(ctx, u.ID, "Dan", long(501))},
		} {
			if !errors.Is(c.err, ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid", c.what, c.err)
			}
		}
		// The limits themselves are allowed.
		if err := e.db.UpdateProfile(ctx, u.ID, long(100), long(500)); err != nil {
			t.Fatalf("UpdateProfile at the limits: %v", err)
		}
		// The CHECK constraints hold even for SQL that bypasses the Go code.
		_, err := e.db.SQL().ExecContext(ctx,
			`INSERT INTO users (email, name, bio, created_at, updated_at) VALUES ($1, $2, '', $3, $3)`,
			"raw@example.com", long(101), e.db.ts(now()))
		if err == nil {
			t.Fatal("raw INSERT of a 101-character name succeeded: CHECK constraint missing")
		}
		if n, _ := e.db.CountUsers(ctx); n != 1 {
			t.Fatalf("CountUsers = %d, want 1", n)
		}
	}},

	{"SearchIsLiteral", func(t *testing.T, e env) {
		mustUser(t, e.db, "alice@example.com", "alice", "50% off")
		mustUser(t, e.db, "bob@example.com", "bob_smith", "")
		mustUser(t, e.db, "carol@example.com", "carol", `back\slash`)
		mustUser(t, e.db, "dave@example.com", "dave", "plain")
		mustUser(t, e.db, "erin@example.com", "Erin", "Loves GO")
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"%", []string{"alice"}},     // unescaped, % would match everyone
			{"%%", nil},                  // no one has two percent signs
			{"_", []string{"bob_smith"}}, // unescaped, _ would match everyone
			{`\`, []string{"carol"}},
			{`\s`, []string{"carol"}},  // unescaped, \s would be an escaped 's'
			{`\%`, nil},                // a literal backslash-percent
			{"a%e", nil},               // unescaped, would match "alice"
			{"b_b", nil},               // unescaped, would match "bob_smith" ("bob")
			{"ALI", []string{"alice"}}, // case-insensitive
			{"go", []string{"Erin"}},   // in the bio, case-insensitive
			{"a", []string{"alice", "carol", "dave"}},
			{"", nil}, // an empty query lists no one
			{strings.Repeat("x", 501), nil},
		} {
			if got := search(t, e.db, c.q); !slices.Equal(got, c.want) {
				t.Errorf("SearchUsers(%q) = %q, want %q", c.q, got, c.want)
			}
		}
		users, err := e.db.SearchUsers(t.Context(), "a", 2)
		if err != nil || !slices.Equal(names(users), []string{"alice", "carol"}) {
			t.Fatalf("SearchUsers limit 2 = %q, %v", names(users), err)
		}
		if users[0].PasswordHash != "" {
			t.Fatal("SearchUsers returned a password hash")
		}
		if _, err := e.db.SearchUsers(t.Context(), "a", 0); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SearchUsers limit 0 err = %v, want ErrInvalid", err)
		}
		if _, err := e.db.SearchUsers(t.Context(), "a\x00", 10); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SearchUsers with NUL err = %v, want ErrInvalid", err)
		}
	}},

	{"SQLInjectionStoredLiterally", func(t *testing.T, e env) {
		ctx := t.Context()
		evil := []string{
			`Robert'); DROP TABLE users;--`,
			`' OR '1'='1`,
			`"; DELETE FROM users; --`,
			`x' UNION SELECT password_hash FROM users --`,
			`$1 $2 ?`,
		}
		for i, s := range evil {
			u := &User{Email: fmt.Sprintf("evil%d'--@example.com", i), Name: s, Bio: s}
			if err := e.db.CreateUser(ctx, u); err != nil {
				t.Fatalf("CreateUser(%q): %v", s, err)
			}
			got, err := e.db.UserByEmail(ctx, u.Email)
			if err != nil || got.Name != s || got.Bio != s {
				t.Fatalf("read back %q: %+v, %v", s, got, err)
			}
			if err := e.db.UpdateProfile(ctx, u.ID, s, s); err != nil {
				t.Fatalf("UpdateProfile(%q): %v", s, err)
			}
		}
		mustUser(t, e.db, "frank@example.com", "frank", "")
		if n, err := e.db.CountUsers(ctx); err != nil || n != len(evil)+1 {
			t.Fatalf("CountUsers = %d, %v; the table lost or gained rows", n, err)
		}
		for _, s := range evil {
			if got := search(t, e.db, s); !slices.Equal(got, []string{s}) {
				t.Errorf("SearchUsers(%q) = %q, want only itself", s, got)
			}
		}
		if got := search(t, e.db, `zzz' OR 1=1 --`); got != nil {
			t.Errorf("injection in search matched %q", got)
		}
		if _, err := e.db.UserByEmail(ctx, `' OR '1'='1`); !errors.Is(err, ErrNotFound) {
			t.Errorf("UserByEmail(injection) err = %v, want ErrNotFound", err)
		}
	}},

	{"SearchPagesWithCursor", func(t *testing.T, e env) {
		ctx := t.Context()
		for _, n := range []string{"Pat A", "Pat B", "Pat B", "Pat C", "Pat D"} {
			mustUser(t, e.db, strings.ReplaceAll(strings.ToLower(n), " ", "")+fmt.Sprint(time.Now().UnixNano())+"@example.com", n, "")
		}
		var got []string
		var after Cursor
		for page := 0; ; page++ {
			users, err := e.db.SearchUsersAfter(ctx, "pat", after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				got = append(got, u.Name)
			}
			if len(users) < 2 || page > 5 {
				break
			}
			c, err := ParseCursor(CursorAfter(users[len(users)-1]).String())
			if err != nil {
				t.Fatal(err)
			}
			after = c
		}
		if want := []string{"Pat A", "Pat B", "Pat B", "Pat C", "Pat D"}; !slices.Equal(got, want) {
			t.Fatalf("pages = %q, want %q (each once, in order)", got, want)
		}
	}},

	{"FilesQuotaAndOwnership", func(t *testing.T, e env) {
		ctx := t.Context()
		ann := mustUser(t, e.db, "ann@example.com", "Ann", "")
		ben := mustUser(t, e.db, "ben@example.com", "Ben", "")
		file := func(n int, u *User, size int64) *File {
			return &File{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), UserID: u.ID, Name: "a.png",
				ContentType: "image/png", Size: size, SHA256: strings.Repeat("0", 64)}
		}
		// Two uploads at once that together exceed the quota: exactly one
		// passes. Check and insert outside one transaction to see it fail.
		errs := make(chan error, 2)
		for i := range 2 {
			go func() { errs <- e.db.ReserveFile(ctx, file(i+1, ann, 60), 100, 10) }()
		}
		var ok, quota int
		for range 2 {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, ErrQuota):
				quota++
			default:
				t.Fatal(err)
			}
		}
		if ok != 1 || quota != 1 {
			t.Fatalf("parallel reservations: %d passed, %d over quota; want 1 and 1", ok, quota)
		}
		if err := e.db.ReserveFile(ctx, file(3, ann, 1), 100, 1); !errors.Is(err, ErrQuota) {
			t.Fatalf("over the file count: %v", err)
		}
		states, err := e.db.FileStates(ctx)
		if err != nil || len(states) != 1 {
			t.Fatalf("states = %v, %v", states, err)
		}
		var id string
		for id = range states {
		}
		// Pending: invisible; ready: the owner's only.
		if _, err := e.db.UserFile(ctx, ann.ID, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a pending file is visible: %v", err)
		}
		if err := e.db.MarkFileReady(ctx, id); err != nil {
			t.Fatal(err)
		}
		if f, err := e.db.UserFile(ctx, ann.ID, id); err != nil || f.Size != 60 || !f.Ready {
			t.Fatalf("UserFile = %+v, %v", f, err)
		}
		if _, err := e.db.UserFile(ctx, ben.ID, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another user's file: %v, want ErrNotFound", err)
		}
		if err := e.db.DeleteUserFile(ctx, ben.ID, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("another user deleting: %v, want ErrNotFound", err)
		}
		if files, used, err := e.db.UserFiles(ctx, ann.ID); err != nil || len(files) != 1 || used != 60 {
			t.Fatalf("UserFiles = %v, %d, %v", files, used, err)
		}
		if err := e.db.DeleteUserFile(ctx, ann.ID, id); err != nil {
			t.Fatal(err)
		}
	}},

	{"WebhookEventsAndSignatures", func(t *testing.T, e env) {
		ctx := t.Context()
		id := strings.Repeat("ab", 32)
		if first, err := e.db.Claim(ctx, id, time.Now().Add(time.Minute)); err != nil || !first {
			t.Fatalf("first claim = %v, %v", first, err)
		}
		if again, err := e.db.Claim(ctx, id, time.Now().Add(time.Minute)); err != nil || again {
			t.Fatalf("second claim of one signature = %v, %v; want false (a replay)", again, err)
		}
		if _, err := e.db.RecordWebhookEvent(ctx, []byte(`{"x":1}`)); err != nil {
			t.Fatal(err)
		}
		evs, err := e.db.WebhookEvents(ctx, 10)
		if err != nil || len(evs) != 1 || string(evs[0].Body) != `{"x":1}` {
			t.Fatalf("events = %+v, %v", evs, err)
		}
		if err := e.db.PruneWebhookSignatures(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if first, _ := e.db.Claim(ctx, id, time.Now().Add(time.Minute)); !first {
			t.Fatal("a pruned signature is still claimed")
		}
	}},

	{"EventCountsAndRetention", func(t *testing.T, e env) {
		ctx := t.Context()
		at := time.Date(2025, 3, 1, 12, 30, 0, 0, time.UTC)
		for range 3 {
			if err := e.db.CountEvent(ctx, EventLoginFailure, at); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := e.db.EventCount(ctx, EventLoginFailure, at.Add(20*time.Minute)); err != nil || n != 3 {
			t.Fatalf("EventCount = %d, %v; want 3 in one row for the hour", n, err)
		}
		if err := e.db.RecordEvent(ctx, Event{Kind: EventLogout, At: at}); err != nil {
			t.Fatal(err)
		}
		if err := e.db.PruneEvents(ctx, at.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if n, _ := e.db.EventCount(ctx, EventLoginFailure, at); n != 0 {
			t.Fatalf("count kept past retention: %d", n)
		}
		if evs, _ := e.db.RecentEvents(ctx, 0, 10); len(evs) != 0 {
			t.Fatalf("events kept past retention: %v", evs)
		}
	}},

	{"EventsNewestFirst", func(t *testing.T, e env) {
		ctx := t.Context()
		u := mustUser(t, e.db, "gina@example.com", "Gina", "")
		other := mustUser(t, e.db, "hal@example.com", "Hal", "")
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("X", 3600))
		for i, kind := range []EventKind{"login_failure", "login_success", "password_change"} {
			err := e.db.RecordEvent(ctx, Event{UserID: u.ID, Kind: kind, IP: "192.0.2.1", UserAgent: "Firefox", Detail: string(kind), At: base.Add(time.Duration(i) * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
		}
		// Same instant: the later insert is newer.
		if err := e.db.RecordEvent(ctx, Event{UserID: u.ID, Kind: "logout", At: base.Add(2 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := e.db.RecordEvent(ctx, Event{UserID: other.ID, Kind: "login_success", At: base.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := e.db.RecordEvent(ctx, Event{Kind: "login_failure", Detail: "unknown email"}); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.RecentEvents(ctx, u.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range got {
			kinds = append(kinds, string(ev.Kind))
		}
		if want := []string{"logout", "password_change", "login_success", "login_failure"}; !slices.Equal(kinds, want) {
			t.Fatalf("RecentEvents kinds = %q, want %q", kinds, want)
		}
		if ev := got[1]; ev.UserID != u.ID || ev.IP != "192.0.2.1" || ev.UserAgent != "Firefox" || ev.Detail != "password_change" ||
			!ev.At.Equal(base.Add(2*time.Minute)) || ev.At.Location() != time.UTC || ev.ID == 0 {
			t.Fatalf("event read back as %+v", ev)
		}
		if got, _ := e.db.RecentEvents(ctx, u.ID, 2); len(got) != 2 || got[0].Kind != "logout" {
			t.Fatalf("RecentEvents limit 2 = %+v", got)
		}
		if got, _ := e.db.RecentEvents(ctx, 0, 10); len(got) != 1 || got[0].Detail != "unknown email" {
			t.Fatalf("RecentEvents(no user) = %+v", got)
		}
		if err := e.db.RecordEvent(ctx, Event{UserID: u.ID}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("RecordEvent without kind err = %v, want ErrInvalid", err)
		}
	}},

	{"HostileEventTextIsRecorded", func(t *testing.T, e env) {
		// An attacker controls the User-Agent: it must not stop the event
		// about them from being recorded, nor bloat the table.
		ctx := t.Context()
		ua := "evil\x00agent\xff" + strings.Repeat("A", 100_000)
		if err := e.db.RecordEvent(ctx, Event{Kind: "login_failure", IP: "203.0.113.9\x00", UserAgent: ua, Detail: strings.Repeat("d", 5000)}); err != nil {
			t.Fatalf("RecordEvent with hostile text: %v", err)
		}
		got, err := e.db.RecentEvents(ctx, 0, 1)
		if err != nil || len(got) != 1 {
			t.Fatalf("RecentEvents = %v, %v", got, err)
		}
		ev := got[0]
		if !strings.HasPrefix(ev.UserAgent, "evil\uFFFDagent\uFFFD") || len([]rune(ev.UserAgent)) != maxUserAgentRunes ||
			len([]rune(ev.Detail)) != maxDetailRunes || ev.IP != "203.0.113.9\uFFFD" {
			t.Fatalf("stored UA %d runes %q…, detail %d runes, IP %q", len([]rune(ev.UserAgent)), ev.UserAgent[:20], len([]rune(ev.Detail)), ev.IP)
		}
	}},

	{"MigrateIsIdempotent", func(t *testing.T, e env) {
		ctx := t.Context()
		mustUser(t, e.db, "kim@example.com", "Kim", "")
		for range 2 {
			if err := e.db.Migrate(ctx); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		}
		ms, _ := migrations(e.db.Dialect())
		var n int
		if err := e.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
			t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
		}
		if n, _ := e.db.CountUsers(ctx); n != 1 {
			t.Fatalf("CountUsers after re-migrating = %d, want 1", n)
		}
	}},

	{"ConcurrentMigrate", func(t *testing.T, e env) {
		// Instances starting at once against one empty database.
		url := e.b.fresh(t)
		const instances = 8
		dbs := make([]*DB, instances)
		for i := range dbs {
			db, err := Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		errs := make([]error, instances)
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Go(func() { errs[i] = db.Migrate(t.Context()) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("instance %d: Migrate: %v", i, err)
			}
		}
		mustUser(t, dbs[0], "lee@example.com", "Lee", "")
		if u, err := dbs[instances-1].UserByEmail(t.Context(), "lee@example.com"); err != nil || u.Name != "Lee" {
			t.Fatalf("other instance reads %+v, %v", u, err)
		}
	}},

	{"ConcurrentWrites", func(t *testing.T, e env) {
		// Many requests writing at once (the load test): none may fail with
		// "database is locked".
		ctx := t.Context()
		const workers, each = 8, 15
		var wg sync.WaitGroup
		errc := make(chan error, workers*each*5)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					u := &User{Email: fmt.Sprintf("w%d-%d@example.com", w, i), Name: "Worker"}
					if err := e.db.CreateUser(ctx, u); err != nil {
						errc <- err
						return
					}
					x, h := e.db.SessionIndex(), testHash(fmt.Sprintf("tok-%d-%d", w, i))
					errc <- x.Add(ctx, session.Info{Hash: h, UserID: u.ID, Expiry: time.Now().Add(time.Hour)})
					errc <- x.Touch(ctx, h, time.Now(), "192.0.2.1")
					errc <- e.db.RecordEvent(ctx, Event{UserID: u.ID, Kind: "login_success"})
					_, err := x.List(ctx, u.ID, time.Now())
					errc <- err
					_, err = e.db.SearchUsers(ctx, "work", 10)
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
		if n, _ := e.db.CountUsers(ctx); n != workers*each {
			t.Fatalf("CountUsers = %d, want %d", n, workers*each)
		}
	}},

	{"LookupsOfUnstorableTextAreNotFound", func(t *testing.T, e env) {
		// NUL and invalid UTF-8 come from URLs and forms; PostgreSQL refuses
		// them as text (a 500 before), so they must be "not found".
		u := mustUser(t, e.db, "text@example.com", "Text", "")
		for _, bad := range []string{"a\x00b", "\xff\xfe"} {
			if _, err := e.db.UserByEmail(t.Context(), bad); !errors.Is(err, ErrNotFound) {
				t.Errorf("UserByEmail(%q) = %v, want ErrNotFound", bad, err)
			}
			if _, err := e.db.UserFile(t.Context(), u.ID, bad); !errors.Is(err, ErrNotFound) {
				t.Errorf("UserFile(%q) = %v, want ErrNotFound", bad, err)
			}
			if err := e.db.DeleteUserFile(t.Context(), u.ID, bad); !errors.Is(err, ErrNotFound) {
				t.Errorf("DeleteUserFile(%q) = %v, want ErrNotFound", bad, err)
			}
			if err := e.db.RevokeAPIKey(t.Context(), u.ID, bad); !errors.Is(err, ErrNotFound) {
				t.Errorf("RevokeAPIKey(%q) = %v, want ErrNotFound", bad, err)
			}
			if err := e.db.DeleteFile(t.Context(), bad); err != nil {
				t.Errorf("DeleteFile(%q) = %v", bad, err)
			}
		}
	}},

	{"SessionData", func(t *testing.T, e env) {
		type scsStore interface {
			Find(token string) ([]byte, bool, error)
			Commit(token string, b []byte, expiry time.Time) error
			Delete(token string) error
		}
		// scs's own store and ours share the table and its formats: each
		// reads what the other wrote.
		var scsOwn scsStore
		switch e.db.Dialect() {
		case DialectSQLite:
			scsOwn = sqlite3store.NewWithCleanupInterval(e.db.SQL(), 0)
		case DialectPostgres:
			scsOwn = postgresstore.NewWithCleanupInterval(e.db.SQL(), 0)
		}
		var s scsStore = e.db.SessionData()
		if err := scsOwn.Commit("theirs", []byte("x"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if b, ok, err := s.Find("theirs"); err != nil || !ok || string(b) != "x" {
			t.Fatalf("Find of a row scs wrote = %q, %v, %v", b, ok, err)
		}
		if err := s.Commit("ours", []byte("y"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if b, ok, err := scsOwn.Find("ours"); err != nil || !ok || string(b) != "y" {
			t.Fatalf("scs Find of a row we wrote = %q, %v, %v", b, ok, err)
		}
		if err := s.Commit("live", []byte("data\x00\xff"), time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("scs Commit: %v", err)
		}
		if err := s.Commit("live", []byte("newer"), time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("scs Commit again: %v", err)
		}
		if err := s.Commit("dead", []byte("old"), time.Now().Add(-time.Minute)); err != nil {
			t.Fatalf("scs Commit expired: %v", err)
		}
		if b, ok, err := s.Find("live"); err != nil || !ok || string(b) != "newer" {
			t.Fatalf("scs Find(live) = %q, %v, %v", b, ok, err)
		}
		if _, ok, err := s.Find("dead"); err != nil || ok {
			t.Fatalf("scs Find(expired) = %v, %v; want not found", ok, err)
		}
		if err := s.Delete("live"); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.Find("live"); err != nil || ok {
			t.Fatalf("scs Find after Delete = %v, %v", ok, err)
		}
		if err := e.db.DeleteExpiredSessions(t.Context(), time.Now()); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := e.db.w.QueryRowContext(t.Context(), `SELECT count(*) FROM sessions`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("after DeleteExpiredSessions: %d rows, %v; want the 2 live ones", n, err)
		}
	}},
}

// TestStore runs every case on every backend.
func TestStore(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					url := b.fresh(t)
					c.run(t, env{db: openMigrated(t, url), url: url, b: b})
				})
			}
		})
	}
}

func TestMigrationsMatchAcrossDialects(t *testing.T) {
	sq, err := migrations(DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := migrations(DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	name := func(m migration) string { return m.name }
	if a, b := mapSlice(sq, name), mapSlice(pg, name); !slices.Equal(a, b) || len(a) == 0 {
		t.Fatalf("sqlite migrations %q, postgres %q: each version needs one file per dialect, same name", a, b)
	}
	if sq[0].version != 1 {
		t.Fatalf("first migration is %d, want 1", sq[0].version)
	}
}

func mapSlice[T, U any](s []T, f func(T) U) []U {
	var out []U
	for _, v := range s {
		out = append(out, f(v))
	}
	return out
}

func TestCleanCutsAtRuneBoundary(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"ééé", 2, "éé"},
		{"a\x00b", 10, "a\uFFFDb"},
		{"a\xffb", 10, "a\uFFFDb"},
		{"", 3, ""},
		{"abc", 0, ""},
	} {
		if got := clean(c.in, c.n); got != c.want {
			t.Errorf("clean(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
