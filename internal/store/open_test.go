package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/bulwarkhq/bulwark/internal/testenv"
)

func TestSQLitePath(t *testing.T) {
	for _, c := range []struct {
		url, want string
		ok        bool
	}{
		{"sqlite:///var/lib/bulwark/bulwark.db", "/var/lib/bulwark/bulwark.db", true},
		{"sqlite://data/bulwark.db", "data/bulwark.db", true},
		{"sqlite://./data/bulwark.db", "data/bulwark.db", true},
		{"sqlite:data/bulwark.db", "data/bulwark.db", true},
		{"sqlite::memory:", memoryPath, true},
		{"sqlite://:memory:", memoryPath, true},
		{"sqlite://", "", false},
		{"sqlite:", "", false},
		// Parameters would reach the driver and could switch pragmas off.
		{"sqlite://data/x.db?_pragma=foreign_keys(0)", "", false},
		{"sqlite://data/x.db\x00", "", false},
	} {
		got, err := sqlitePath(c.url)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("sqlitePath(%q) = %q, %v; want %q, ok=%v", c.url, got, err, c.want, c.ok)
		}
	}
}

func TestOpenRelativeAndMemory(t *testing.T) {
	t.Chdir(t.TempDir())
	db := openMigrated(t, "sqlite://data/bulwark.db")
	if err := db.CreateUser(t.Context(), &User{Email: "a@example.com", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("data", "bulwark.db")); err != nil {
		t.Fatalf("relative path not used: %v", err)
	}

	mem := openMigrated(t, "sqlite::memory:")
	if mem.Dialect() != DialectSQLite {
		t.Fatalf("Dialect = %q", mem.Dialect())
	}
	u := &User{Email: "b@example.com", Name: "B"}
	if err := mem.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if got, err := mem.UserByID(t.Context(), u.ID); err != nil || got.Email != "b@example.com" {
		t.Fatalf("memory database lost the user: %+v, %v", got, err)
	}
}

func TestOpenErrorsHidePassword(t *testing.T) {
	const pw = "s3cr3t-Passw0rd"
	port := testenv.FreePort(t) // nothing listens there
	for _, url := range []string{
		fmt.Sprintf("postgres://bulwark:%s@127.0.0.1:%d/db?sslmode=disable&connect_timeout=2", pw, port),
		fmt.Sprintf("postgresql://bulwark:%s@127.0.0.1:%d/db?sslmode=disable&connect_timeout=2", pw, port),
		"postgres://bulwark:" + pw + "%zz@127.0.0.1/db",           // bad escape: net/url quotes the URL
		"postgres://bulwark:" + pw + "@127.0.0.1:notaport/db",     // bad port
		"postgres://bulwark:" + pw + "@127.0.0.1/db?sslmode=nope", // bad parameter
		"mysql://root:" + pw + "@127.0.0.1/db",
		"root:" + pw + "@127.0.0.1/db",
		"",
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		db, err := Open(ctx, url)
		cancel()
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", url)
			continue
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(fmt.Sprintf("%+v", err), pw) {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

func TestSQLiteFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "bulwark.db")
	db := openMigrated(t, "sqlite://"+path)
	if err := db.CreateUser(t.Context(), &User{Email: "a@example.com", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + "-wal": 0o600, path + "-shm": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s has mode %o, want at most %o", filepath.Base(p), got, want)
		}
	}

	// An existing database readable by others is made private.
	loose := filepath.Join(t.TempDir(), "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	openMigrated(t, "sqlite://"+loose)
	if fi, _ := os.Stat(loose); fi.Mode().Perm() != 0o600 {
		t.Errorf("existing database left with mode %o, want 600", fi.Mode().Perm())
	}
}

// TestSQLitePragmasOnEveryConnection holds several connections of each pool
// at once, so each is a distinct connection, and checks the settings of each.
func TestSQLitePragmasOnEveryConnection(t *testing.T) {
	db := openMigrated(t, "sqlite://"+filepath.Join(t.TempDir(), "bulwark.db"))
	ctx := t.Context()
	check := func(name string, pool *sql.DB, n int, queryOnly int) {
		var conns []*sql.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := range n {
			c, err := pool.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			want := map[string]any{
				"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000",
				"synchronous": "1", "query_only": fmt.Sprint(queryOnly),
			}
			for pragma, w := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != w {
					t.Errorf("%s connection %d: PRAGMA %s = %s, want %s", name, i, pragma, got, w)
				}
			}
		}
	}
	check("writer", db.w.DB, 1, 0)
	check("reader", db.r.DB, 4, 1)
	if db.w.Stats().MaxOpenConnections != 1 {
		t.Errorf("writer pool allows %d connections, want 1", db.w.Stats().MaxOpenConnections)
	}
	// A write sent to the reader pool by mistake fails loudly.
	if _, err := db.r.ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Error("reader pool accepted a write")
	}
}

func TestOpenCreatesNoFileForBadURL(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(t.Context(), "sqlite://"+filepath.Join(dir, "x.db")+"?_pragma=foreign_keys(0)"); err == nil {
		t.Fatal("Open accepted driver parameters in the URL")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("files created: %v", entries)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	if !errors.Is(fail("x", sql.ErrNoRows), ErrNotFound) {
		t.Fatal("sql.ErrNoRows is not ErrNotFound")
	}
	other := errors.New("boom")
	if err := fail("x", other); !errors.Is(err, other) || errors.Is(err, ErrNotFound) {
		t.Fatalf("fail wrapped %v as %v", other, err)
	}
}

func BenchmarkUserByID(b *testing.B) {
	db := openMigrated(b, "sqlite://"+filepath.Join(b.TempDir(), "bulwark.db"))
	u := &User{Email: "bench@example.com", Name: "Bench"}
	if err := db.CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.UserByID(context.Background(), u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSCSFind is the read every request makes through scs's store.
func BenchmarkSCSFind(b *testing.B) {
	db := openMigrated(b, "sqlite://"+filepath.Join(b.TempDir(), "bulwark.db"))
	s := sqlite3store.NewWithCleanupInterval(db.SQL(), 0)
	if err := s.Commit("tok", []byte("data"), time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, err := s.Find("tok"); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
