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
// # Search
//
// SearchUsers finds users whose name or bio contains the query: lower(col)
// LIKE lower('%'+escapeLike(q)+'%') ESCAPE '\', ordered by name, id, one
// keyset page at a time. That LIKE is the definition of a match and is the
// last check of every plan below; the trigram indexes of migration 0007 only
// choose which rows it looks at, so results are those of a full scan
// (TestSearchMatchesScan compares the two; FuzzSearchUsers compares with
// strings.Contains).
//
// SQLite: users_search is an external-content FTS5 table with the trigram
// tokenizer, kept in step with users by AFTER INSERT/UPDATE OF name, bio/DELETE
// triggers. A query of three or more characters is MATCHed as one quoted
// phrase (a " doubled, nothing else is syntax inside quotes), which with
// trigrams means "contains". The tokenizer folds case for all of Unicode,
// more than SQLite's ASCII-only lower(), so its candidates are a superset of
// the matches and the LIKE recheck removes the extra ones (é for É). Then
// there are two plans, chosen by counting the candidates after the cursor in
// the index up to a bound: √(limit × users), at most searchCandidateCap
// (2000), which is where the two plans cost the same (see candidateLimit):
//
//   - at most the bound (a rare term): join those rows, recheck, sort, take
//     the page. Cost: the candidates, whatever the table size.
//   - more (a common term): walk the (name, id) index from the cursor,
//     rechecking each row, until the page is full. With matches spread
//     through the alphabet this reads about limit × users ÷ matches rows
//     (under 26,000 for a page of 51 among a million users).
//
// Queries of one or two characters have no trigram and always take the
// walk. Its worst case, for a walk and for a short query alike, is a term
// whose matches are few after the cursor or bunched at the end of the name
// order (a rare two-letter query such as "qz"): then it reads every row
// after the cursor, as every search did before 0007 (about 0.25 s per 100,000
// users here; PostgreSQL too scans for them, pg_trgm finding no trigram). Such a query returns few rows; the walk stops as soon as the
// page is full, so a common short query ("a") is cheap.
//
// PostgreSQL: pg_trgm GIN indexes on lower(name) and lower(bio), which serve
// the same LIKE for patterns holding a trigram (three letters or digits in a
// row). The statement is the plain one; the planner chooses between a
// BitmapOr of the two trigram indexes (rare terms) and the (name, id) index
// (common terms, short or punctuation-only patterns) from the pattern's
// statistics. It is sent as an unnamed statement (pgx QueryExecModeExec) so
// that it is planned with each pattern: a cached prepared statement turns
// generic after five runs and would use one plan for every term. GIN's
// fastupdate queues new rows in a pending list that every search reads
// through until (auto)vacuum merges it: after a bulk import of users, run
// VACUUM ANALYZE users (measured: 6 ms against 0.3 ms for a rare term at a
// million users).
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
// Session data goes through [SessionData], the service's own scs store: its
// Find reads from the reader pool, and only Commit and Delete take the
// writer, so a signed-in page that only reads never waits for sign-ins.
// (scs's sqlite3store takes a single *sql.DB, which would have had to be
// the writer.)
//
// On SQLite each statement text is prepared once and kept per connection
// (pool.go): modernc.org/sqlite otherwise compiles the SQL on every call,
// which was a third of a page's CPU. PostgreSQL's driver caches prepared
// statements itself.
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
