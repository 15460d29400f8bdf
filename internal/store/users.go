package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// User is an account.
type User struct {
	ID           int64
	Email        string // normalized: trimmed, lower case
	Name         string // 1–100 characters
	Bio          string // at most 500 characters
	Admin        bool
	PasswordHash string // PHC or legacy form; empty when the user has no password
	// CredentialVersion goes up with every password change; sessions
	// started under an older version are no longer valid.
	CredentialVersion int64
	// EmailVerified is true once the owner has followed a link mailed to
	// Email (or the account was made by an operator, or before
	// verification existed). CreateUser stores it as given.
	EmailVerified bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NormalizeEmail returns the form in which emails are stored and looked up:
// surrounding space trimmed, lower case. Two addresses that differ only in
// case are one account.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// textOK reports whether s can be stored the same way by both dialects:
// PostgreSQL refuses NUL bytes and invalid UTF-8 in TEXT, so SQLite must too.
func textOK(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

const userColumns = `id, email, name, bio, admin, password_hash, credential_version, created_at, updated_at, email_verified`

func scanUser(row interface{ Scan(...any) error }, u *User) error {
	return row.Scan(&u.ID, &u.Email, &u.Name, &u.Bio, &u.Admin, &u.PasswordHash, &u.CredentialVersion,
		timeScanner{&u.CreatedAt}, timeScanner{&u.UpdatedAt}, &u.EmailVerified)
}

// CreateUser inserts u with its email normalized, and sets u.ID, u.Email,
// u.CreatedAt and u.UpdatedAt. An email already taken, in any case, gives
// ErrDuplicate; a value the schema refuses gives ErrInvalid.
func (db *DB) CreateUser(ctx context.Context, u *User) error {
	const op = "create user"
	email := NormalizeEmail(u.Email)
	for _, s := range []string{email, u.Name, u.Bio, u.PasswordHash} {
		if !textOK(s) {
			return invalid(op, "text must be UTF-8 without NUL bytes")
		}
	}
	t := now()
	var id int64
	err := db.w.QueryRowContext(ctx,
		`INSERT INTO users (email, name, bio, admin, password_hash, created_at, updated_at, email_verified)
		 VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id`,
		email, u.Name, u.Bio, u.Admin, u.PasswordHash, db.ts(t), u.EmailVerified).Scan(&id)
	if err != nil {
		return fail(op, err)
	}
	u.ID, u.Email, u.CredentialVersion, u.CreatedAt, u.UpdatedAt = id, email, 1, t, t
	return nil
}

// UserByEmail returns the user with that email, compared after
// normalization, or ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	if !textOK(email) { // no account has it, and PostgreSQL refuses it as text
		return nil, fail("user by email", ErrNotFound)
	}
	var u User
	err := scanUser(db.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE email = $1`, NormalizeEmail(email)), &u)
	if err != nil {
		return nil, fail("user by email", err)
	}
	return &u, nil
}

// UserByID returns the user with that id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	err := scanUser(db.r.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE id = $1`, id), &u)
	if err != nil {
		return nil, fail("user by id", err)
	}
	return &u, nil
}

// UpdateProfile sets a user's name and bio: ErrNotFound for an unknown id,
// ErrInvalid for values the schema refuses.
func (db *DB) UpdateProfile(ctx context.Context, id int64, name, bio string) error {
	const op = "update profile"
	if !textOK(name) || !textOK(bio) {
		return invalid(op, "text must be UTF-8 without NUL bytes")
	}
	return db.updateOne(ctx, op,
		`UPDATE users SET name = $2, bio = $3, updated_at = $4 WHERE id = $1`,
		id, name, bio, db.ts(now()))
}

// SetPassword stores a new password's hash and raises the user's
// credential version, which ends the sessions started under the old one.
// It returns the new version, or ErrNotFound.
func (db *DB) SetPassword(ctx context.Context, id int64, hash string) (version int64, err error) {
	const op = "set password"
	if !textOK(hash) {
		return 0, invalid(op, "hash must be UTF-8 without NUL bytes")
	}
	err = db.w.QueryRowContext(ctx,
		`UPDATE users SET password_hash = $2, credential_version = credential_version + 1, updated_at = $3
		 WHERE id = $1 RETURNING credential_version`,
		id, hash, db.ts(now())).Scan(&version)
	if err != nil {
		return 0, fail(op, err)
	}
	return version, nil
}

// RehashPassword replaces the hash of the same password (an upgrade to
// today's parameters) only if the stored hash is still old: a compare and
// swap, so an upgrade computed from a password that was changed meanwhile
// can never overwrite the new one. It gives ErrNotFound when the hash has
// changed (or the user is gone); the credential version stays.
func (db *DB) RehashPassword(ctx context.Context, id int64, old, hash string) error {
	const op = "rehash password"
	if !textOK(hash) {
		return invalid(op, "hash must be UTF-8 without NUL bytes")
	}
	return db.updateOne(ctx, op,
		`UPDATE users SET password_hash = $3, updated_at = $4 WHERE id = $1 AND password_hash = $2`,
		id, old, hash, db.ts(now()))
}

// updateOne runs a write that must touch a row, else ErrNotFound.
func (db *DB) updateOne(ctx context.Context, op, query string, args ...any) error {
	res, err := db.w.ExecContext(ctx, query, args...)
	if err != nil {
		return fail(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fail(op, err)
	}
	if n == 0 {
		return fail(op, sql.ErrNoRows)
	}
	return nil
}

// likeEscaper makes user text literal inside a LIKE pattern with ESCAPE '\'.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// escapeLike returns a LIKE pattern (for ESCAPE '\') that matches s
// literally: no character of s acts as a wildcard.
func escapeLike(s string) string { return likeEscaper.Replace(s) }

// maxSearchRunes is the longest query that could match: a bio has at most
// 500 characters and a name 100.
const maxSearchRunes = 500

// SearchUsers returns up to limit users whose name or bio contains query,
// ordered by name then id. The query is literal: %, _ and \ match only
// themselves. Matching ignores case: for ASCII letters on SQLite (its lower()
// knows no others), for all letters the database's locale knows on
// PostgreSQL. An empty query matches no one, so the search cannot list every
// user. PasswordHash is left empty in the results, which are meant for pages.
// limit must be positive and is capped at MaxListLimit.
func (db *DB) SearchUsers(ctx context.Context, query string, limit int) ([]User, error) {
	return db.SearchUsersAfter(ctx, query, Cursor{}, limit)
}

// Cursor marks a place in search results, which are ordered by name, then
// id: the next page starts after it. The zero Cursor is the first page.
type Cursor struct {
	Name string
	ID   int64
}

// CursorAfter returns the cursor of the page after the one that ended
// with u.
func CursorAfter(u User) Cursor { return Cursor{Name: u.Name, ID: u.ID} }

// String encodes c for a URL: opaque to clients, base64url.
func (c Cursor) String() string {
	if c.ID == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ID, 10) + "\x00" + c.Name))
}

// ParseCursor reads what Cursor.String wrote; "" is the first page.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := invalid("parse cursor", "not a cursor from a previous page")
	if len(s) > 1024 {
		return Cursor{}, bad
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	idText, name, ok := strings.Cut(string(b), "\x00")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 || strconv.FormatInt(id, 10) != idText || !textOK(name) || name == "" {
		return Cursor{}, bad
	}
	return Cursor{Name: name, ID: id}, nil
}

// SearchUsersAfter is SearchUsers from the place after (keyset
// pagination: the page costs the same however deep it is).
//
// Both dialects answer from a trigram index (migration 0007) and keep the
// LIKE of the plain scan as the final check, so the index only narrows the
// rows that LIKE looks at and never changes the results; see the package
// documentation, "Search", for the plans and their worst cases.
func (db *DB) SearchUsersAfter(ctx context.Context, query string, after Cursor, limit int) ([]User, error) {
	const op = "search users"
	limit, err := checkLimit(op, limit)
	if err != nil {
		return nil, err
	}
	if !textOK(query) {
		return nil, invalid(op, "query must be UTF-8 without NUL bytes")
	}
	if query == "" || utf8.RuneCountInString(query) > maxSearchRunes {
		return nil, nil
	}
	pattern := "%" + escapeLike(query) + "%"
	var rows *sql.Rows
	switch {
	case db.dialect == DialectPostgres:
		// QueryExecModeExec: an unnamed statement, planned with this
		// pattern each time. A cached prepared statement would move to a
		// generic plan after five runs, one plan for rare and common terms
		// alike; with the pattern in hand the planner picks the trigram
		// indexes for a rare term and the (name, id) index for a common one.
		rows, err = db.r.QueryContext(ctx, searchScan, pgx.QueryExecModeExec, pattern, limit, after.Name, after.ID)
	case utf8.RuneCountInString(query) >= 3:
		var limitN, n int
		if limitN, err = db.candidateLimit(ctx, limit); err != nil {
			return nil, fail(op, err)
		}
		if limitN > 0 {
			if n, err = db.countTrigramCandidates(ctx, query, after, limitN); err != nil {
				return nil, fail(op, err)
			}
		}
		if limitN > 0 && n <= limitN {
			rows, err = db.r.QueryContext(ctx, searchTrigram, pattern, limit, after.Name, after.ID, ftsPhrase(query))
		} else {
			rows, err = db.r.QueryContext(ctx, searchScan, pattern, limit, after.Name, after.ID)
		}
	default:
		rows, err = db.r.QueryContext(ctx, searchScan, pattern, limit, after.Name, after.ID)
	}
	if err != nil {
		return nil, fail(op, err)
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		var u User
		if err := scanUser(rows, &u); err != nil {
			return nil, fail(op, err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(op, err)
	}
	return users, nil
}

// The match and the keyset condition shared by the search statements. lower()
// on both sides, in SQL, so pattern and column are folded by the same
// function; LIKE … ESCAPE '\' is the same in both dialects. $1 is the LIKE
// pattern, $3 and $4 the cursor.
const (
	searchColumns = `users.id, users.email, users.name, users.bio, users.admin, '', 0, users.created_at, users.updated_at, users.email_verified`
	searchLike    = `(lower(users.name) LIKE lower($1) ESCAPE '\' OR lower(users.bio) LIKE lower($1) ESCAPE '\')`
	searchKeyset  = `(users.name > $3 OR (users.name = $3 AND users.id > $4))`
)

// searchScan walks users in (name, id) order from the cursor and stops after
// limit matches: cheap when matches are common, a full scan when they are
// rare. On PostgreSQL the planner may instead take the trigram indexes.
const searchScan = `SELECT ` + searchColumns + ` FROM users
	WHERE ` + searchLike + ` AND ` + searchKeyset + `
	ORDER BY users.name, users.id LIMIT $2`

// searchTrigram (SQLite) takes the candidates from the FTS5 trigram index,
// checks each with the same LIKE and sorts them: its cost grows with the
// number of candidates, which countTrigramCandidates has bounded. CROSS JOIN
// keeps SQLite's planner from driving the join from the (name, id) index.
const searchTrigram = `SELECT ` + searchColumns + `
	FROM users_search CROSS JOIN users ON users.id = users_search.rowid
	WHERE users_search MATCH $5 AND ` + searchLike + ` AND ` + searchKeyset + `
	ORDER BY users.name, users.id LIMIT $2`

// searchCandidateCap is the most trigram candidates SQLite sorts for one
// page; a query with more is common enough that walking the (name, id)
// index finds a page of matches sooner. With matches spread evenly, the walk
// reads about limit × users ÷ matches rows: under 11,000 for a page of 21
// among a million users.
const searchCandidateCap = 2000

// searchSmallTable is the size under which a search always walks. Tests
// that check the trigram plans on a few rows set DB.walkBelow to 0.
const searchSmallTable = 2000

// candidateLimit is the most trigram candidates worth sorting for a page of
// limit in this table, or 0 when the table is so small that walking it is
// cheaper than counting candidates. The join costs about its candidates c,
// the walk about limit × users ÷ c rows, so the join wins while
// c² < limit × users; from about 80,000 users on, the bound is
// searchCandidateCap, which keeps the join's worst case where it was
// measured. Users are estimated by the largest id (one index lookup, not a
// count). Below searchSmallTable users even a full walk (about 0.5 ms) costs
// no more than the count: counting a common term's candidates in FTS5 took
// about 0.15 ms of a page at 1,000 users (BenchmarkRoutes/search).
func (db *DB) candidateLimit(ctx context.Context, limit int) (int, error) {
	var maxID int64
	if err := db.r.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM users`).Scan(&maxID); err != nil {
		return 0, err
	}
	if maxID <= db.walkBelow {
		return 0, nil
	}
	n := int(math.Sqrt(float64(limit) * float64(maxID)))
	return min(max(n, limit), searchCandidateCap), nil
}

// countTrigramCandidates counts, up to most+1, the users after the cursor
// whose indexed text contains query (folded by the trigram tokenizer, which
// folds at least what lower() does, so every real match is counted).
func (db *DB) countTrigramCandidates(ctx context.Context, query string, after Cursor, most int) (int, error) {
	var n int
	var err error
	if after.ID == 0 {
		err = db.r.QueryRowContext(ctx,
			`SELECT count(*) FROM (SELECT 1 FROM users_search WHERE users_search MATCH $1 LIMIT $2)`,
			ftsPhrase(query), most+1).Scan(&n)
	} else {
		err = db.r.QueryRowContext(ctx,
			`SELECT count(*) FROM (SELECT 1 FROM users_search CROSS JOIN users ON users.id = users_search.rowid
			 WHERE users_search MATCH $1 AND `+searchKeyset+` LIMIT $2)`,
			ftsPhrase(query), most+1, after.Name, after.ID).Scan(&n)
	}
	return n, err
}

// ftsPhrase quotes s as one FTS5 phrase: inside double quotes every
// character is literal except the double quote, which is doubled. With the
// trigram tokenizer the phrase matches rows that contain s as a substring.
func ftsPhrase(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// CountUsers returns the number of users.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fail("count users", err)
	}
	return n, nil
}
