package session_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/session"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// ---------------------------------------------------------------------------
// Backends

// stored is one test case's session data on one backend.
type stored struct {
	// open returns a new client on the data. Two calls are two service
	// instances sharing it.
	open func(t *testing.T) scs.Store
	// count returns how many sessions the backend holds.
	count func(t *testing.T) int
	// dump returns everything the backend holds, as it is at rest: the
	// SQLite file's bytes, every row of the PostgreSQL table, every Redis
	// key and value.
	dump func(t *testing.T) string
}

// A backend prepares once (starting servers) and then gives every test
// case data of its own.
type backend struct {
	name    string
	prepare func(t *testing.T) (fresh func(t *testing.T) stored)
}

var backends = []backend{
	{"memory", prepareMemory},
	{"sqlite", prepareSQLite},
	{"postgres", preparePostgres},
	{"redis", prepareRedis},
}

func prepareMemory(*testing.T) func(t *testing.T) stored {
	return func(t *testing.T) stored {
		ms := memstore.NewWithCleanupInterval(0)
		all := func(t *testing.T) map[string][]byte {
			m, err := ms.All()
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		return stored{
			open:  func(*testing.T) scs.Store { return ms },
			count: func(t *testing.T) int { return len(all(t)) },
			dump: func(t *testing.T) string {
				var b strings.Builder
				for k, v := range all(t) {
					fmt.Fprintf(&b, "%s %s\n", k, v)
				}
				return b.String()
			},
		}
	}
}

func prepareSQLite(*testing.T) func(t *testing.T) stored {
	return func(t *testing.T) stored {
		path := filepath.Join(t.TempDir(), "sessions.db")
		db := openDB(t, "sqlite", path)
		db.SetMaxOpenConns(1) // one writer: no SQLITE_BUSY under -race
		mustExec(t, db, `CREATE TABLE sessions (
			token TEXT PRIMARY KEY,
			data BLOB NOT NULL,
			expiry REAL NOT NULL
		)`)
		mustExec(t, db, `CREATE INDEX sessions_expiry_idx ON sessions(expiry)`)
		return stored{
			// One file, one pool: SQLite is the single-instance store.
			open:  func(*testing.T) scs.Store { return sqlite3store.NewWithCleanupInterval(db, 0) },
			count: func(t *testing.T) int { return countRows(t, db, "sessions") },
			dump: func(t *testing.T) string {
				// The file itself, journal included: deleted rows can
				// linger in free pages, so this also finds what was ever
				// written, not only what is live.
				var b strings.Builder
				for _, p := range []string{path, path + "-wal", path + "-journal"} {
					data, err := os.ReadFile(p)
					if err != nil && !errors.Is(err, os.ErrNotExist) {
						t.Fatal(err)
					}
					b.Write(data)
				}
				return b.String()
			},
		}
	}
}

func preparePostgres(t *testing.T) func(t *testing.T) stored {
	url := testenv.Postgres(t)
	admin := openDB(t, "pgx", url)
	var n atomic.Int64
	return func(t *testing.T) stored {
		// A table per case, so that counts are the case's own.
		table := fmt.Sprintf("sessions_%d", n.Add(1))
		mustExec(t, admin, `CREATE TABLE `+table+` (
			token TEXT PRIMARY KEY,
			data BYTEA NOT NULL,
			expiry TIMESTAMPTZ NOT NULL
		)`)
		return stored{
			open: func(t *testing.T) scs.Store {
				return postgresstore.NewWithConfig(openDB(t, "pgx", url), postgresstore.Config{TableName: table})
			},
			count: func(t *testing.T) int { return countRows(t, admin, table) },
			dump: func(t *testing.T) string {
				// What pg_dump would write for the table: every row.
				var s string
				err := admin.QueryRow(`SELECT coalesce(string_agg(token || ' ' || encode(data, 'escape') || ' ' || expiry::text, E'\n'), '') FROM ` + table).Scan(&s)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
		}
	}
}

func prepareRedis(t *testing.T) func(t *testing.T) stored {
	addr := testenv.Redis(t)
	return func(t *testing.T) stored {
		prefix := "test:" + rand.Text() + ":"
		admin := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { admin.Close() })
		scan := func(t *testing.T) map[string]string {
			out := map[string]string{}
			iter := admin.Scan(t.Context(), 0, prefix+"*", 100).Iterator()
			for iter.Next(t.Context()) {
				v, err := admin.Get(t.Context(), iter.Val()).Result()
				if err != nil && !errors.Is(err, redis.Nil) {
					t.Fatal(err)
				}
				out[iter.Val()] = v
			}
			if err := iter.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		}
		return stored{
			open: func(t *testing.T) scs.Store {
				client := redis.NewClient(&redis.Options{Addr: addr})
				t.Cleanup(func() { client.Close() })
				return goredisstore.NewWithPrefix(client, prefix)
			},
			count: func(t *testing.T) int { return len(scan(t)) },
			dump: func(t *testing.T) string {
				var b strings.Builder
				for k, v := range scan(t) {
					fmt.Fprintf(&b, "%s %s\n", k, v)
				}
				return b.String()
			},
		}
	}
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var errStoreDown = errors.New("test: store unavailable")

// hashName is the shape of every name a session may be stored under.
var hashName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// spyStore wraps a backend's store: it counts commits, fails on demand,
// runs a hook before a commit, and records every name it is asked about.
type spyStore struct {
	inner        scs.Store
	commits      atomic.Int64
	failFind     atomic.Bool
	failCommit   atomic.Bool
	beforeCommit atomic.Pointer[func()]

	mu    sync.Mutex
	names map[string]bool
}

func (s *spyStore) saw(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil {
		s.names = map[string]bool{}
	}
	s.names[name] = true
}

func (s *spyStore) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.names {
		out = append(out, n)
	}
	return out
}

func (s *spyStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *spyStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *spyStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

func (s *spyStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	s.saw(token)
	if s.failFind.Load() {
		return nil, false, errStoreDown
	}
	if cs, ok := s.inner.(scs.CtxStore); ok {
		return cs.FindCtx(ctx, token)
	}
	return s.inner.Find(token)
}

func (s *spyStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	s.saw(token)
	if s.failCommit.Load() {
		return errStoreDown
	}
	if f := s.beforeCommit.Swap(nil); f != nil {
		(*f)()
	}
	s.commits.Add(1)
	if cs, ok := s.inner.(scs.CtxStore); ok {
		return cs.CommitCtx(ctx, token, b, expiry)
	}
	return s.inner.Commit(token, b, expiry)
}

func (s *spyStore) DeleteCtx(ctx context.Context, token string) error {
	s.saw(token)
	if cs, ok := s.inner.(scs.CtxStore); ok {
		return cs.DeleteCtx(ctx, token)
	}
	return s.inner.Delete(token)
}

// ---------------------------------------------------------------------------
// Indexes with faults

// leakyIndex lists every user's sessions whoever asks: a bug in the index
// must not let one user see or end another's sessions.
type leakyIndex struct {
	*session.MemoryIndex
	mu    sync.Mutex
	users map[int64]bool
}

func newLeakyIndex() *leakyIndex {
	return &leakyIndex{MemoryIndex: session.NewMemoryIndex(), users: map[int64]bool{}}
}

func (x *leakyIndex) Add(ctx context.Context, s session.Info) error {
	x.mu.Lock()
	x.users[s.UserID] = true
	x.mu.Unlock()
	return x.MemoryIndex.Add(ctx, s)
}

func (x *leakyIndex) List(ctx context.Context, _ int64, now time.Time) ([]session.Info, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []session.Info
	for u := range x.users {
		list, _ := x.MemoryIndex.List(ctx, u, now)
		out = append(out, list...)
	}
	return out, nil
}

// gatedIndex holds up the next Remove, once armed, until gate closes, to
// put a request between a revocation's steps.
type gatedIndex struct {
	*session.MemoryIndex
	armed atomic.Pointer[[2]chan struct{}] // gate, removing
}

func (x *gatedIndex) arm(gate, removing chan struct{}) {
	x.armed.Store(&[2]chan struct{}{gate, removing})
}

func (x *gatedIndex) Remove(ctx context.Context, hash string) error {
	if g := x.armed.Swap(nil); g != nil {
		g[1] <- struct{}{}
		<-g[0]
	}
	return x.MemoryIndex.Remove(ctx, hash)
}

// failingIndex refuses to add sessions.
type failingIndex struct{ *session.MemoryIndex }

func (failingIndex) Add(context.Context, session.Info) error {
	return errors.New("test: index unavailable")
}

// ---------------------------------------------------------------------------
// The application under test and its browsers

// app is one service instance: a Manager in front of a small set of routes.
type app struct {
	m      *session.Manager
	h      http.Handler
	served atomic.Int64 // requests that reached the routes
	// GET /slow signals entered, then waits for release.
	entered, release chan struct{}
}

// listed is a session as GET /sessions shows it.
type listed struct {
	session.Info
	PublicID string
}

func newApp(t *testing.T, store scs.Store, index session.Index, cfg session.Config) *app {
	t.Helper()
	m, err := session.New(store, index, cfg)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	a := &app{m: m, entered: make(chan struct{}, 1), release: make(chan struct{})}
	note := m.Value("note")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /put", func(w http.ResponseWriter, r *http.Request) {
		note.Put(r.Context(), []byte(r.FormValue("v")))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		w.Write(note.Get(r.Context()))
	})
	mux.HandleFunc("GET /pop", func(w http.ResponseWriter, r *http.Request) {
		w.Write(note.Pop(r.Context()))
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := a.m.UserID(r.Context()); ok {
			fmt.Fprintf(w, "user %d", id)
			return
		}
		io.WriteString(w, "anonymous")
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		a.entered <- struct{}{}
		<-a.release
		note.Put(r.Context(), []byte("written late")) // the session is modified: scs commits it
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.FormValue("user"), 10, 64)
		err := a.m.Login(r, id, session.LoginOptions{Remember: r.FormValue("remember") == "on"})
		if err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := a.m.Logout(r); err != nil {
			http.Error(w, "logout failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	signedIn := func(f func(w http.ResponseWriter, r *http.Request, id int64)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, ok := a.m.UserID(r.Context())
			if !ok {
				http.Error(w, "sign in", http.StatusUnauthorized)
				return
			}
			f(w, r, id)
		}
	}
	mux.Handle("POST /password", signedIn(func(w http.ResponseWriter, r *http.Request, id int64) {
		if err := a.m.RenewAndRevokeOthers(r, id); err != nil {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.Handle("GET /sessions", signedIn(func(w http.ResponseWriter, r *http.Request, id int64) {
		list, err := a.m.Sessions(r.Context(), id)
		if err != nil {
			http.Error(w, "failed", http.StatusInternalServerError)
			return
		}
		out := []listed{}
		for _, s := range list {
			out = append(out, listed{s, s.ID()})
		}
		json.NewEncoder(w).Encode(out)
	}))
	mux.Handle("POST /revoke", signedIn(func(w http.ResponseWriter, r *http.Request, id int64) {
		err := a.m.Revoke(r, id, r.FormValue("id"))
		switch {
		case errors.Is(err, session.ErrNotFound):
			http.Error(w, "no such session", http.StatusNotFound)
		case err != nil:
			http.Error(w, "failed", http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	a.h = a.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.served.Add(1)
		mux.ServeHTTP(w, r)
	}))
	return a
}

// browser keeps cookies like a browser does (for one site, over HTTPS) and
// talks to one app instance at a time.
type browser struct {
	t      *testing.T
	h      http.Handler
	cookie string // the session cookie's name
	ua     string
	mu     sync.Mutex // a browser may send requests in parallel
	jar    map[string]*http.Cookie
	last   *http.Response
	tokens *[]string // every session token this browser and its copies were given
}

func newBrowser(t *testing.T, a *app, cookieName string) *browser {
	return &browser{t: t, h: a.h, cookie: cookieName, jar: map[string]*http.Cookie{}, tokens: new([]string)}
}

// use points the browser at another instance.
func (b *browser) use(a *app) { b.h = a.h }

func (b *browser) do(method, target string) *http.Response {
	return b.send(httptest.NewRequest(method, "https://bulwark.test"+target, nil))
}

func (b *browser) send(req *http.Request) *http.Response {
	b.t.Helper()
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
	}
	b.mu.Lock()
	for _, c := range b.jar {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	b.mu.Unlock()
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	resp := rec.Result()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
			if c.Name == b.cookie {
				*b.tokens = append(*b.tokens, c.Value)
			}
		}
	}
	b.last = resp
	return resp
}

func (b *browser) body(method, target string) string {
	b.t.Helper()
	resp := b.do(method, target)
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

func (b *browser) login(user int64) {
	b.t.Helper()
	if resp := b.do("POST", "/login?user="+strconv.FormatInt(user, 10)); resp.StatusCode != http.StatusNoContent {
		b.t.Fatalf("login: status %d", resp.StatusCode)
	}
}

func (b *browser) whoami() string {
	b.t.Helper()
	return b.body("GET", "/whoami")
}

// token returns the session token the browser holds.
func (b *browser) token() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.jar[b.cookie]; c != nil {
		return c.Value
	}
	return ""
}

// stolen is another browser (an attacker's) holding the given session
// token, talking to the same instance.
func (b *browser) stolen(token string) *browser {
	o := &browser{t: b.t, h: b.h, cookie: b.cookie, jar: map[string]*http.Cookie{}, tokens: new([]string)}
	o.jar[b.cookie] = &http.Cookie{Name: b.cookie, Value: token}
	return o
}

func (b *browser) sessions() []listed {
	b.t.Helper()
	resp := b.do("GET", "/sessions")
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /sessions: status %d", resp.StatusCode)
	}
	var list []listed
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		b.t.Fatalf("GET /sessions: %v", err)
	}
	return list
}

func wantUser(t *testing.T, b *browser, want string) {
	t.Helper()
	if got := b.whoami(); got != want {
		t.Errorf("whoami = %q, want %q", got, want)
	}
}

const cookieSecure = "__Host-bulwark_session"

// secureCfg is the production shape: a Secure, __Host- cookie.
func secureCfg() session.Config { return session.Config{Secure: true} }

// setup makes one app over a fresh spy-wrapped client of st.
func setup(t *testing.T, st stored, index session.Index, cfg session.Config) (*app, *spyStore) {
	spy := &spyStore{inner: st.open(t)}
	return newApp(t, spy, index, cfg), spy
}

// ---------------------------------------------------------------------------
// The table

// A case runs on every backend, with data of its own.
type testCase struct {
	name string
	run  func(t *testing.T, st stored)
}

func TestManager(t *testing.T) {
	all := append(append(append([]testCase{}, managerCases...), atRestCases...), csrfCases...)
	for _, kind := range backends {
		t.Run(kind.name, func(t *testing.T) {
			fresh := kind.prepare(t)
			for _, c := range all {
				t.Run(c.name, func(t *testing.T) { c.run(t, fresh(t)) })
			}
		})
	}
}
