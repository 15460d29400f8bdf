package store

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// unescapeLike reads a pattern made by escapeLike back, failing on any
// character that would act as a wildcard or a dangling escape.
func unescapeLike(p string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%', '_':
			return "", false
		case '\\':
			if i+1 == len(p) || !strings.ContainsRune(`\%_`, rune(p[i+1])) {
				return "", false
			}
			i++
		}
		b.WriteByte(p[i])
	}
	return b.String(), true
}

func FuzzEscapeLike(f *testing.F) {
	for _, s := range []string{"", "%", "_", `\`, `a%b_c\d`, `\%`, "100%", "é_%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := unescapeLike(escapeLike(s))
		if !ok || got != s {
			t.Fatalf("escapeLike(%q) = %q: reads back as %q, literal=%v", s, escapeLike(s), got, ok)
		}
	})
}

func FuzzSQLitePath(f *testing.F) {
	for _, s := range []string{"sqlite:///a/b.db", "sqlite://a.db", "sqlite::memory:", "sqlite://a?b", "sqlite:", "sqlite://\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		p, err := sqlitePath(u)
		if err == nil && (p == "" || strings.ContainsAny(p, "?\x00")) {
			t.Fatalf("sqlitePath(%q) = %q", u, p)
		}
	})
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// FuzzSearchUsers checks SearchUsers on SQLite against strings.Contains: a
// query matches exactly the users whose name or bio contains it, whatever
// wildcards or quotes it holds.
func FuzzSearchUsers(f *testing.F) {
	db := openMigrated(f, "sqlite::memory:")
	db.walkBelow = 0 // take the trigram plans, not the small-table walk
	people := [][2]string{
		{"alice", "50% off"}, {"bob_smith", ""}, {"carol", `back\slash`}, {"Dave O'Hara", `"quoted"`},
		{"Émile", "ÉCOLE"}, {"x", "%_%"}, {"under_score", "a_b"},
	}
	for i, p := range people {
		if err := db.CreateUser(f.Context(), &User{Email: strings.Repeat("u", i+3) + "@x", Name: p[0], Bio: p[1]}); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range []string{"%", "_", `\`, "'", `"`, "a%b", "b_b", "O'H", "É", "é", "ALICE", "%_%", "' OR 1=1 --", "cole"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		users, err := db.SearchUsers(t.Context(), q, MaxListLimit)
		if !utf8.ValidString(q) || strings.Contains(q, "\x00") {
			if err == nil {
				t.Fatalf("SearchUsers(%q) accepted text PostgreSQL would refuse", q)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		if q != "" {
			lq := asciiLower(q)
			for _, p := range people {
				if strings.Contains(asciiLower(p[0]), lq) || strings.Contains(asciiLower(p[1]), lq) {
					want = append(want, p[0])
				}
			}
		}
		got := names(users)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("SearchUsers(%q) = %q, want %q", q, got, want)
		}
	})
}

// FuzzParseCursor: a cursor from a client is either refused or round-trips.
func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{Name: "Ada", ID: 7}.String())
	f.Add("")
	f.Add("!!")
	f.Add("MAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err != nil || s == "" {
			return
		}
		if c.ID <= 0 || c.Name == "" || c.String() != s {
			t.Fatalf("ParseCursor(%q) = %+v, which writes %q", s, c, c.String())
		}
	})
}
