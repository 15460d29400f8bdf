package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors the methods return, wrapped; test with errors.Is.
var (
	// ErrNotFound means no row matched: unknown user, session or token.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate means a unique value (a user's email) is taken.
	ErrDuplicate = errors.New("store: duplicate")
	// ErrInvalid means a value broke a rule of the schema (a length, a NUL
	// byte, invalid UTF-8) or an argument was out of range. The app
	// validates first; this is the last line.
	ErrInvalid = errors.New("store: invalid value")
)

// Dialect names, as returned by [DB.Dialect].
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// MaxListLimit caps the limit of the methods that return lists.
const MaxListLimit = 1000

// DB is the service's database. It is safe for concurrent use.
type DB struct {
	dialect string
	// w takes every write. On SQLite it has exactly one connection (see the
	// package doc); on PostgreSQL it is the only pool.
	w *pool
	// r takes reads. On SQLite it is a pool of query_only connections; on
	// PostgreSQL and for an in-memory SQLite database it is w.
	r *pool
	// walkBelow is searchSmallTable; tests lower it (see candidateLimit).
	walkBelow int64
}

// sqliteBusyTimeout is how long a SQLite connection waits for a lock held by
// another process before failing.
const sqliteBusyTimeout = 5 * time.Second

// Open opens the database named by url and checks that it answers:
//
//	sqlite:///abs/path.db     absolute path
//	sqlite://rel/path.db      path relative to the working directory
//	sqlite::memory:           a private in-memory database (tests)
//	postgres://… postgresql://…
//
// For SQLite the file's directory is created with mode 0700 and the file
// with mode 0600. Errors never include the URL's password.
func Open(ctx context.Context, url string) (*DB, error) {
	if err := CheckURL(url); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path, err := sqlitePath(url)
		if err != nil {
			return nil, err
		}
		return openSQLite(ctx, path)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	default:
		// Do not echo the URL: it may hold a password.
		return nil, errors.New("store: unsupported database URL: want sqlite://PATH or postgres://…")
	}
}

// CheckURL reports whether Open accepts the form of url, without opening
// anything: the configuration checks DATABASE_URL with it, so the two can
// never disagree. Errors never include the URL.
func CheckURL(url string) error {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		_, err := sqlitePath(url)
		return err
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		if _, err := pgx.ParseConfig(url); err != nil {
			return errors.New("store: postgres URL cannot be parsed")
		}
		return nil
	}
	return errors.New("store: unsupported database URL: want sqlite://PATH or postgres://…")
}

// memoryPath stands for an in-memory SQLite database.
const memoryPath = ":memory:"

// sqlitePath returns the file path of a sqlite: URL, or memoryPath.
func sqlitePath(u string) (string, error) {
	rest := strings.TrimPrefix(u, "sqlite:")
	rest = strings.TrimPrefix(rest, "//")
	switch {
	case rest == "":
		return "", errors.New("store: sqlite URL has no path: want sqlite://PATH")
	case rest == memoryPath:
		return memoryPath, nil
	case strings.ContainsAny(rest, "?\x00"):
		// The driver would read anything after '?' as its own parameters
		// and could override our pragmas.
		return "", errors.New("store: sqlite path must not contain '?' or NUL")
	}
	return filepath.Clean(rest), nil
}

// sqliteDSN builds a modernc.org/sqlite DSN whose parameters apply to every
// connection the pool opens.
func sqliteDSN(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if path != memoryPath {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1") // applied by the driver after the pragmas
	}
	if strings.HasPrefix(path, "file:") {
		// A plain name that starts with "file:" would be read as a URI.
		path = "./" + path
	}
	return path + "?" + q.Encode()
}

// keepOneConn limits a pool to one connection that is never closed.
func keepOneConn(db *sql.DB) {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == memoryPath {
		w, err := sql.Open("sqlite", sqliteDSN(path, true))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		// Every connection would be a database of its own: keep exactly one,
		// forever.
		keepOneConn(w)
		p := newPool(w, true)
		db := &DB{dialect: DialectSQLite, w: p, r: p, walkBelow: searchSmallTable}
		if err := db.Ping(ctx); err != nil {
			_ = w.Close()
			return nil, err
		}
		return db, nil
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create database directory: %w", err)
	}
	if err := createPrivateFile(path); err != nil {
		return nil, err
	}

	w, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	keepOneConn(w) // the single writer

	r, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(10 * time.Minute)

	db := &DB{dialect: DialectSQLite, w: newPool(w, true), r: newPool(r, true), walkBelow: searchSmallTable}
	// The writer first: its first connection switches the file to WAL.
	if err := db.Ping(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// createPrivateFile creates the database file with mode 0600 before SQLite
// does (SQLite would use 0644 less the umask), and takes group and other
// permissions away from an existing one.
func createPrivateFile(path string) error {
	// #nosec G304 -- the database path is operator configuration (DATABASE_URL)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create database file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: create database file: %w", err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		if err := f.Chmod(mode &^ 0o077); err != nil {
			return fmt.Errorf("store: restrict database file mode: %w", err)
		}
	}
	return nil
}

func openPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx redacts passwords only on a best-effort basis, and a parse
		// error of net/url quotes the whole URL: say nothing of it.
		return nil, errors.New("store: invalid PostgreSQL URL (check DATABASE_URL's syntax)")
	}
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "bulwark"
	}
	if _, ok := cfg.RuntimeParams["timezone"]; !ok {
		cfg.RuntimeParams["timezone"] = "UTC"
	}
	if cfg.ConnectTimeout == 0 {
		// Without connect_timeout a dropped SYN would hang Open and every
		// pool refill until the caller's context ends, if it ever does.
		cfg.ConnectTimeout = 10 * time.Second
	}
	password := cfg.Password
	w := stdlib.OpenDB(*cfg)
	w.SetMaxOpenConns(20)
	w.SetMaxIdleConns(10)
	w.SetConnMaxLifetime(30 * time.Minute)
	w.SetConnMaxIdleTime(5 * time.Minute)
	p := newPool(w, false)
	db := &DB{dialect: DialectPostgres, w: p, r: p}
	if err := db.w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", redact(err, password))
	}
	return db, nil
}

// redactedError hides a password that an error's text might quote.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), password, "xxxxx"), err: err}
}

// Ping checks that the database answers (both pools on SQLite).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.dialect, err)
	}
	if db.r != db.w {
		if err := db.r.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping %s readers: %w", db.dialect, err)
		}
	}
	return nil
}

// Close closes the pools.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Dialect reports "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// SQL returns the pool that can write, for tools and tests that need SQL of
// their own. On SQLite that is the single-connection writer pool (see the
// package doc): keep its use short.
func (db *DB) SQL() *sql.DB { return db.w.DB }

// sqliteTime is how SQLite columns hold times: fixed width, so text order is
// time order.
const sqliteTime = "2006-01-02 15:04:05.000000Z"

// ts converts t to the value bound for a timestamp column.
func (db *DB) ts(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if db.dialect == DialectSQLite {
		return t.Format(sqliteTime)
	}
	return t
}

// now is the current time as stored: UTC, microseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// timeScanner reads a timestamp column of either dialect into a UTC time.
type timeScanner struct{ t *time.Time }

func (s timeScanner) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*s.t = v.UTC()
		return nil
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	}
	return fmt.Errorf("store: cannot read %T as a time", src)
}

func (s timeScanner) parse(v string) error {
	for _, layout := range []string{sqliteTime, time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			*s.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("store: cannot read %q as a time", v)
}

// classify maps a driver error to ErrNotFound, ErrDuplicate or ErrInvalid
// where it is one of those, else returns it unchanged.
func classify(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return ErrDuplicate
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL, sqlite3.SQLITE_CONSTRAINT_DATATYPE:
			return ErrInvalid
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return ErrNotFound
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return ErrDuplicate
		case "23514", "23502", "22001", "22021", "22P05": // check, not null, too long, bad encoding, untranslatable
			return ErrInvalid
		case "23503": // foreign_key_violation
			return ErrNotFound
		}
	}
	return err
}

// fail wraps err for the operation op, classified.
func fail(op string, err error) error {
	return fmt.Errorf("store: %s: %w", op, classify(err))
}

// invalid reports a bad argument.
func invalid(op, what string) error {
	return fmt.Errorf("store: %s: %s: %w", op, what, ErrInvalid)
}

// checkLimit validates a list limit and caps it at MaxListLimit.
func checkLimit(op string, limit int) (int, error) {
	if limit <= 0 {
		return 0, invalid(op, "limit must be positive")
	}
	return min(limit, MaxListLimit), nil
}

// inTx runs fn in a transaction of the writer pool (BEGIN IMMEDIATE on
// SQLite), committing if fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn's error is the one to report
		return err
	}
	return tx.Commit()
}
