package store

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/session"
)

// BenchmarkSessionLoad is what every signed-in request pays for its session,
// on each store the service runs on: the session data (SessionData on
// SQLite and PostgreSQL, scs's goredisstore on Redis) and the index check,
// through session.Manager's middleware, in parallel.
//
//	go test -run '^$' -bench SessionLoad -benchmem ./internal/store/
func BenchmarkSessionLoad(b *testing.B) {
	cases := []struct {
		name string
		open func(b *testing.B) (*DB, scs.Store)
	}{
		{"sqlite", func(b *testing.B) (*DB, scs.Store) {
			db := openMigrated(b, "sqlite://"+filepath.Join(b.TempDir(), "bulwark.db"))
			return db, db.SessionData()
		}},
		{"postgres", func(b *testing.B) (*DB, scs.Store) {
			db := openMigrated(b, testenv.Postgres(b))
			return db, db.SessionData()
		}},
		{"redis", func(b *testing.B) (*DB, scs.Store) {
			db := openMigrated(b, testenv.Postgres(b))
			client := redis.NewClient(&redis.Options{Addr: testenv.Redis(b)})
			b.Cleanup(func() { client.Close() })
			return db, goredisstore.NewWithPrefix(client, "bench:"+b.Name()+":")
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			db, data := c.open(b)
			u := &User{Email: "bench-" + c.name + "@example.com", Name: "Bench"}
			if err := db.CreateUser(b.Context(), u); err != nil {
				b.Fatal(err)
			}
			m, err := session.New(data, db.SessionIndex(), session.Config{})
			if err != nil {
				b.Fatal(err)
			}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					if err := m.Login(r, u.ID, session.LoginOptions{}); err != nil {
						b.Error(err)
					}
					return
				}
				if _, ok := m.UserID(r.Context()); !ok {
					w.WriteHeader(http.StatusUnauthorized)
				}
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("POST", "/login", nil))
			cookies := rec.Result().Cookies()
			if len(cookies) == 0 {
				b.Fatal("no session cookie")
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/", nil)
					req.AddCookie(cookies[0])
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}
