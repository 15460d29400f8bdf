package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSearchScale measures a search page (limit 51, as the pages and the API
// ask: 50 and one more) at several table sizes, on both databases, for a
// rare term (in 5 users) and a common one (in about one bio in ten), with
// the indexed search and with the scan it replaced. It prints a Markdown
// table for BENCHMARKS.md. It runs only when asked, it takes minutes:
//
//	BULWARK_SEARCH_SCALE=1000,100000,1000000 go test -run TestSearchScale -v -timeout 60m ./internal/store
//
// BULWARK_SEARCH_SCALE=1 means those three sizes. BULWARK_SEARCH_DB=sqlite or
// postgres runs one database only. The scan is measured up to
// BULWARK_SEARCH_LEGACY_MAX users (default 100000) with 200 runs, and with
// 10 runs above.
func TestSearchScale(t *testing.T) {
	spec := os.Getenv("BULWARK_SEARCH_SCALE")
	if spec == "" {
		t.Skip("set BULWARK_SEARCH_SCALE=1000,100000,1000000 to measure search at scale")
	}
	if spec == "1" {
		spec = "1000,100000,1000000"
	}
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			t.Fatalf("BULWARK_SEARCH_SCALE: %q is not a size", f)
		}
		sizes = append(sizes, n)
	}
	legacyMax := 100000
	if s := os.Getenv("BULWARK_SEARCH_LEGACY_MAX"); s != "" {
		legacyMax, _ = strconv.Atoi(s)
	}
	const runs, limit = 200, 51
	var table []string
	for _, b := range backends() {
		if d := os.Getenv("BULWARK_SEARCH_DB"); d != "" && d != b.name {
			continue
		}
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/%d", b.name, n), func(t *testing.T) {
				db := openMigrated(t, b.fresh(t))
				start := time.Now()
				seedUsers(t, db, n, rand.New(rand.NewPCG(uint64(n), 7)))
				t.Logf("seeded %d users in %v", n, time.Since(start).Round(time.Millisecond))
				terms := []string{rareTerm, commonTerm}
				var rows []string
				for _, term := range terms {
					indexed := measure(t, runs, func() int {
						users, err := db.SearchUsers(t.Context(), term, limit)
						if err != nil {
							t.Fatal(err)
						}
						return len(users)
					})
					rows = append(rows, fmt.Sprintf("| %s | %d | %s (%d) | %s | %s |", b.name, n, term, indexed.found, ms(indexed.p50), ms(indexed.p99)))
				}
				// Before: the scan this replaced. On SQLite the old statement
				// never touches users_search; on PostgreSQL the same LIKE
				// would use the trigram indexes, so they are dropped first.
				if db.Dialect() == DialectPostgres {
					if _, err := db.w.ExecContext(t.Context(), `DROP INDEX users_name_trgm_idx, users_bio_trgm_idx`); err != nil {
						t.Fatal(err)
					}
				}
				for i, term := range terms {
					r := runs
					if n > legacyMax {
						r = 10 // the scan takes seconds here
					}
					scan := measure(t, r, func() int { return len(legacy(t, db, term, Cursor{}, limit)) })
					rows[i] += fmt.Sprintf(" %s | %s |", ms(scan.p50), ms(scan.p99))
					t.Log(rows[i])
				}
				table = append(table, rows...)
			})
		}
	}
	t.Logf("\n| database | users | term (found) | p50 | p99 | scan p50 | scan p99 |\n|---|---:|---|---:|---:|---:|---:|\n%s", strings.Join(table, "\n"))
}

type timing struct {
	p50, p99 time.Duration
	found    int
}

func measure(t *testing.T, runs int, search func() int) timing {
	for range min(3, runs) { // warm the caches
		search()
	}
	d := make([]time.Duration, runs)
	var found int
	for i := range d {
		start := time.Now()
		found = search()
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return timing{p50: d[runs/2], p99: d[(runs*99)/100], found: found}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
