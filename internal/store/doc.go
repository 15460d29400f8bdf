// Package store is the service's SQL: users, security events and the index of
// live sessions, on SQLite (modernc.org/sqlite, no cgo) or PostgreSQL (pgx
// through database/sql). Both dialects run the same Go code and, wherever they
// agree, the same SQL text: `$1` placeholders, RETURNING, ON CONFLICT and
// LIKE … ESCAPE work in both. What differs lives in the migrations
// (migrations/sqlite, migrations/postgres), in how timestamps are bound (see
// [DB] below) and in how errors are classified.
//
// Every statement is parameterized. User text reaches LIKE only through
// escapeLike, so a search for "%" or "_" finds those characters and nothing
// else.
//
// # SQLite: one writer, many readers
//
// SQLite allows one writer at a time. A [DB] on SQLite holds two pools on
// the same file:
//
//   - a writer pool of exactly one connection, whose transactions begin with
//     BEGIN IMMEDIATE (_txlock=immediate). Writes queue in Go for that
//     connection instead of racing for SQLite's lock, so they never fail with
//     SQLITE_BUSY and never spin in the busy handler, and a transaction that
//     reads before it writes cannot hit the "upgrade" deadlock that deferred
//     transactions have.
//   - a reader pool of several connections opened with query_only, used by
//     every method that only reads. In WAL mode readers do not block the
//     writer or each other, so a slow search cannot hold up a sign-in.
//
// The simpler design, one pool limited to one connection, would put every
// read of every request in the same queue as the writes. The service will be
// load-tested, and the app reads (user by id, session list) on most requests,
// so readers get their own pool.
//
// [DB.SQL] returns the writer pool, because scs's session store writes
// (Commit, Delete) as well as reads (Find) through the one *sql.DB it is
// given, and a query_only connection would refuse its writes. scs's Find is
// a single indexed lookup of microseconds, so queueing it with the writes
// costs little; note that scs with an idle timeout commits on every request
// anyway.
//
// Every connection of both pools gets the same pragmas from the DSN, so a
// connection the pool opens later cannot miss one: busy_timeout(5000) (only
// other processes, such as a second instance or the sqlite3 shell, can make
// us wait), journal_mode(WAL), synchronous(NORMAL) (safe with WAL: a power
// cut may lose the last commits but never corrupts the file) and
// foreign_keys(1).
//
// The database file is created 0600 in a directory created 0700; SQLite
// gives its -wal and -shm files the mode of the database file.
//
// # PostgreSQL
//
// One pool (at most 20 connections, 10 idle, recycled every 30 minutes;
// connect_timeout 10s unless the URL sets one).
// Migrate holds pg_advisory_xact_lock in each migration's transaction, so
// several instances starting at once apply each migration exactly once; the
// transaction-level lock is released by COMMIT or ROLLBACK, so no pooled
// connection can keep it by accident.
//
// # Timestamps
//
// All times are stored in UTC with microsecond precision (PostgreSQL's).
// PostgreSQL stores them as TIMESTAMPTZ; SQLite as fixed-width TEXT,
// "2006-01-02 15:04:05.000000Z", which sorts and compares in time order and
// which SQLite's date functions understand.
//
// # Adding migrations
//
// Later changes (API keys, files, …) are new files NNNN_name.sql with the
// next free number, written once per dialect under migrations/sqlite and
// migrations/postgres with the same number and name. 0001 is the initial
// schema. Applied migrations are recorded in schema_migrations and never run
// again, so a migration file must not be edited once released.
package store
