package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// legacySearch is the search as it was before the trigram indexes
// (migration 0007): a LIKE over every row in (name, id) order. It is the
// oracle of TestSearchMatchesScan and the "before" of TestSearchScale.
const legacySearch = `SELECT id, email, name, bio, admin, '', 0, created_at, updated_at, email_verified FROM users
	WHERE (lower(name) LIKE lower($1) ESCAPE '\' OR lower(bio) LIKE lower($1) ESCAPE '\')
	  AND (name > $3 OR (name = $3 AND id > $4))
	ORDER BY name, id LIMIT $2`

func legacy(t testing.TB, db *DB, q string, after Cursor, limit int) []User {
	t.Helper()
	if q == "" {
		return nil
	}
	rows, err := db.r.QueryContext(t.Context(), legacySearch, "%"+escapeLike(q)+"%", limit, after.Name, after.ID)
	if err != nil {
		t.Fatalf("legacy search %q: %v", q, err)
	}
	defer rows.Close()
	var users []User
	for rows.Next() {
		var u User
		if err := scanUser(rows, &u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return users
}

func ids(users []User) []int64 {
	var out []int64
	for _, u := range users {
		out = append(out, u.ID)
	}
	return out
}

// allPages reads every page of a search, limit users at a time.
func allPages(t testing.TB, q string, limit int, page func(Cursor, int) []User) []int64 {
	t.Helper()
	var got []int64
	var after Cursor
	for i := 0; ; i++ {
		users := page(after, limit)
		got = append(got, ids(users)...)
		if len(users) < limit {
			return got
		}
		if i > 10000 {
			t.Fatalf("search %q: no end of pages", q)
		}
		after = CursorAfter(users[len(users)-1])
	}
}

// checkSameAsScan compares SearchUsersAfter with the plain scan for q: the
// first page at several limits, and every page of a paged walk.
func checkSameAsScan(t *testing.T, db *DB, q string) {
	t.Helper()
	for _, limit := range []int{1, 3, 100, MaxListLimit} {
		got, err := db.SearchUsers(t.Context(), q, limit)
		if err != nil {
			t.Fatalf("SearchUsers(%q, %d): %v", q, limit, err)
		}
		if want := legacy(t, db, q, Cursor{}, limit); !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("SearchUsers(%q, %d) = %q, scan gives %q", q, limit, names(got), names(want))
		}
		for _, u := range got {
			if u.PasswordHash != "" {
				t.Fatalf("SearchUsers(%q) returned a password hash", q)
			}
		}
	}
	size := 7
	if len(legacy(t, db, q, Cursor{}, 100)) == 100 {
		size = 97 // a common term: fewer, longer pages
	}
	got := allPages(t, q, size, func(c Cursor, n int) []User {
		users, err := db.SearchUsersAfter(t.Context(), q, c, n)
		if err != nil {
			t.Fatalf("SearchUsersAfter(%q): %v", q, err)
		}
		return users
	})
	want := allPages(t, q, size, func(c Cursor, n int) []User { return legacy(t, db, q, c, n) })
	if !slices.Equal(got, want) {
		t.Fatalf("pages of %q: ids %v, scan gives %v", q, got, want)
	}
}

var searchPeople = [][2]string{
	{"alice", "50% off"}, {"bob_smith", ""}, {"carol", `back\slash`}, {"Dave O'Hara", `"quoted" text`},
	{"Émile Zola", "ÉCOLE normale"}, {"x", "%_%"}, {"under_score", "a_b"}, {"Zoë", "naïve café"},
	{"Ab", "ab"}, {"ABC", "xyz"}, {"Pat", "Pat"}, {"Pat", "pattern"}, {"日本語", "東京タワー"},
	{`quote"in"name`, `it's "x"`}, {"ALICE", "Alice in wonderland"}, {"Ω", "ω"}, {"two  spaces", "tab\there"},
}

var searchQueries = []string{
	// one and two characters: the scan
	"a", "A", "x", "%", "_", `\`, `"`, "'", "é", "É", "Ω", "ab", "AB", "%_", "日本", "ë",
	// three and more: the trigram index
	"abc", "ABC", "ali", "ALICE", "alice in", "50%", "0% ", "%_%", "b_s", "a_b", `\sl`, `k\s`,
	`"quoted"`, `"quo`, `e"i`, `"in"`, "O'H", "it's", "émi", "ÉMI", "Émile", "cole", "école", "ÉCOLE",
	"naïve", "NAÏVE", "café", "日本語", "京タワ", "pat", "PATTERN", "ern", "zzz", "a%e", "b_b",
	`' OR 1=1 --`, `" OR "`, "NEAR(", "a AND b", "*", "abc*", "^ab", "x:y", "name:", "- x",
	" ", "  ", "   ", "o  s", "\t", "b\the",
}

// TestSearchMatchesScan: the indexed search returns exactly what the plain
// scan returns, on both databases, for short and long queries, wildcards,
// quotes, FTS5 syntax and non-ASCII text, and the index follows updates
// and deletes.
func TestSearchMatchesScan(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := openMigrated(t, b.fresh(t))
			db.walkBelow = 0 // take the trigram plans, not the small-table walk
			ctx := t.Context()
			var users []*User
			for i, p := range searchPeople {
				u := &User{Email: fmt.Sprintf("p%d@example.com", i), Name: p[0], Bio: p[1], PasswordHash: "secret"}
				if err := db.CreateUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				users = append(users, u)
			}
			for _, q := range searchQueries {
				checkSameAsScan(t, db, q)
			}
			// Renames and deletes reach the index.
			if err := db.UpdateProfile(ctx, users[0].ID, "Alicia", "moved to Zanzibar"); err != nil {
				t.Fatal(err)
			}
			if got := search(t, db, "50% off"); got != nil {
				t.Fatalf("old bio still found: %q", got)
			}
			if got := search(t, db, "zanzibar"); !slices.Equal(got, []string{"Alicia"}) {
				t.Fatalf("new bio: %q", got)
			}
			if got := search(t, db, "licia"); !slices.Equal(got, []string{"Alicia"}) {
				t.Fatalf("new name: %q", got)
			}
			// A password change does not touch name or bio; search is unchanged.
			if _, err := db.SetPassword(ctx, users[0].ID, "new"); err != nil {
				t.Fatal(err)
			}
			if got := search(t, db, "zanzibar"); !slices.Equal(got, []string{"Alicia"}) {
				t.Fatalf("after SetPassword: %q", got)
			}
			if _, err := db.SQL().ExecContext(ctx, `DELETE FROM users WHERE id = $1`, users[0].ID); err != nil {
				t.Fatal(err)
			}
			if got := search(t, db, "zanzibar"); got != nil {
				t.Fatalf("deleted user still found: %q", got)
			}
			if _, err := db.SQL().ExecContext(ctx, `UPDATE users SET name = 'Renamed by SQL', bio = '' WHERE id = $1`, users[2].ID); err != nil {
				t.Fatal(err)
			}
			for _, q := range append(searchQueries, "renamed", "slash", "by s") {
				checkSameAsScan(t, db, q)
			}
			if db.Dialect() == DialectSQLite {
				// The index and the table agree row for row.
				if _, err := db.SQL().ExecContext(ctx, `INSERT INTO users_search (users_search, rank) VALUES ('integrity-check', 1)`); err != nil {
					t.Fatalf("FTS5 integrity-check: %v", err)
				}
			}
		})
	}
}

// TestSearchCommonTerm: a term with more candidates than SQLite sorts
// (searchCandidateCap) is answered by walking the (name, id) index, with the
// same results and pages as the scan.
func TestSearchCommonTerm(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			db := openMigrated(t, b.fresh(t))
			rng := rand.New(rand.NewPCG(1, 2))
			seedUsers(t, db, 2*searchCandidateCap+500, rng)
			for _, q := range []string{commonTerm, rareTerm, "ri", "e", "zzz", strings.ToUpper(commonTerm), "ver ", commonTerm[:3], "ber", "Ber", "dan g", "sti"} {
				checkSameAsScan(t, db, q)
			}
			if db.Dialect() == DialectSQLite {
				// "ber", a syllable of many words, takes the walk.
				if n, err := db.countTrigramCandidates(t.Context(), "ber", Cursor{}, searchCandidateCap); err != nil || n <= searchCandidateCap {
					t.Fatalf("candidates of %q = %d, %v; want more than %d", "ber", n, err, searchCandidateCap)
				}
			}
		})
	}
}

// Seeded data: names and bios of pseudo-words; commonTerm is in about one
// bio in ten, rareTerm in rareCount users whatever the size.
const (
	commonTerm = "river"
	rareTerm   = "zanzibar"
	rareCount  = 5
)

func vocabulary(rng *rand.Rand, n int) []string {
	syl := []string{"ka", "lo", "mi", "ne", "so", "ta", "vu", "ber", "dan", "gol", "hil", "jor", "pel", "qua", "sti", "wen", "xo", "yel", "fra", "tro", "ch", "an", "el", "is", "on", "ul"}
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for range 2 + rng.IntN(3) {
			b.WriteString(syl[rng.IntN(len(syl))])
		}
		w := b.String()
		if seen[w] || strings.Contains(w, commonTerm) || strings.Contains(w, rareTerm) {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// seedUsers inserts n users in one transaction, 250 rows per INSERT. The
// triggers (SQLite) and indexes (PostgreSQL) of migration 0007 are in place,
// so the seeding also pays for keeping the index.
func seedUsers(t testing.TB, db *DB, n int, rng *rand.Rand) {
	t.Helper()
	ctx := t.Context()
	words := vocabulary(rng, 5000)
	firsts, lasts := words[:300], words[300:2300]
	rare := map[int]bool{}
	for len(rare) < min(rareCount, n) {
		rare[rng.IntN(n)] = true
	}
	ts := db.ts(now())
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var base int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&base); err != nil {
		t.Fatal(err)
	}
	const batch = 250
	for start := 0; start < n; start += batch {
		var q strings.Builder
		q.WriteString(`INSERT INTO users (email, name, bio, created_at, updated_at) VALUES `)
		var args []any
		for i := start; i < min(start+batch, n); i++ {
			if i > start {
				q.WriteByte(',')
			}
			k := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+4)
			bio := make([]string, 4+rng.IntN(5))
			for j := range bio {
				bio[j] = words[rng.IntN(len(words))]
			}
			if rng.IntN(10) == 0 {
				bio[rng.IntN(len(bio))] = commonTerm
			}
			if rare[i] {
				bio[0] = rareTerm
			}
			name := strings.ToUpper(firsts[rng.IntN(len(firsts))][:1]) + firsts[rng.IntN(len(firsts))][1:] + " " + lasts[rng.IntN(len(lasts))]
			args = append(args, fmt.Sprintf("u%d@example.com", base+i), name, strings.Join(bio, " "), ts)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if db.Dialect() == DialectPostgres {
		// VACUUM, as autovacuum would soon, also moves the rows of the GIN
		// indexes' pending lists (fastupdate) into the indexes proper;
		// searches would otherwise read those lists through.
		if _, err := db.w.ExecContext(ctx, `VACUUM ANALYZE users`); err != nil {
			t.Fatal(err)
		}
	}
}
