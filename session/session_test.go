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
	"path/filepath"
	"strconv"
	"strings"
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
// Stores

// openStore returns a new client on one backend's session data. Two calls
// are two service instances sharing the data.
type openStore func(t *testing.T) scs.Store

// A storeKind prepares once (starting servers, creating tables) and then
// gives every test case a backend of its own.
type storeKind struct {
	name    string
	prepare func(t *testing.T) (fresh func(t *testing.T) openStore)
}

var storeKinds = []storeKind{
	{"sqlite", prepareSQLite},
	{"postgres", preparePostgres},
	{"redis", prepareRedis},
}

func prepareSQLite(*testing.T) func(t *testing.T) openStore {
	return func(t *testing.T) openStore {
		path := filepath.Join(t.TempDir(), "sessions.db")
		db := openDB(t, "sqlite", path)
		db.SetMaxOpenConns(1) // one writer: no SQLITE_BUSY under -race
		mustExec(t, db, `CREATE TABLE sessions (
			token TEXT PRIMARY KEY,
			data BLOB NOT NULL,
			expiry REAL NOT NULL
		)`)
		mustExec(t, db, `CREATE INDEX sessions_expiry_idx ON sessions(expiry)`)
		return func(t *testing.T) scs.Store {
			// One file, one pool: SQLite is the single-instance store.
			return sqlite3store.NewWithCleanupInterval(db, 0)
		}
	}
}

func preparePostgres(t *testing.T) func(t *testing.T) openStore {
	url := testenv.Postgres(t)
	db := openDB(t, "pgx", url)
	mustExec(t, db, `CREATE TABLE sessions (
		token TEXT PRIMARY KEY,
		data BYTEA NOT NULL,
		expiry TIMESTAMPTZ NOT NULL
	)`)
	mustExec(t, db, `CREATE INDEX sessions_expiry_idx ON sessions (expiry)`)
	// Cases share the table; their tokens are random, so they never meet.
	return func(*testing.T) openStore {
		return func(t *testing.T) scs.Store {
			return postgresstore.NewWithCleanupInterval(openDB(t, "pgx", url), 0)
		}
	}
}

func prepareRedis(t *testing.T) func(t *testing.T) openStore {
	addr := testenv.Redis(t)
	return func(*testing.T) openStore {
		prefix := "test:" + rand.Text() + ":"
		return func(t *testing.T) scs.Store {
			client := redis.NewClient(&redis.Options{Addr: addr})
			t.Cleanup(func() { client.Close() })
			return goredisstore.NewWithPrefix(client, prefix)
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

var errStoreDown = errors.New("test: store unavailable")

// spyStore wraps a store to count commits and to make it fail on demand.
type spyStore struct {
	inner      scs.Store
	commits    atomic.Int64
	failFind   atomic.Bool
	failCommit atomic.Bool
}

func (s *spyStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *spyStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *spyStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

func (s *spyStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if s.failFind.Load() {
		return nil, false, errStoreDown
	}
	if cs, ok := s.inner.(scs.CtxStore); ok {
		return cs.FindCtx(ctx, token)
	}
	return s.inner.Find(token)
}

func (s *spyStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if s.failCommit.Load() {
		return errStoreDown
	}
	s.commits.Add(1)
	if cs, ok := s.inner.(scs.CtxStore); ok {
		return cs.CommitCtx(ctx, token, b, expiry)
	}
	return s.inner.Commit(token, b, expiry)
}

func (s *spyStore) DeleteCtx(ctx context.Context, token string) error {
	if cs, ok := s.inner.(scs.CtxStore); ok {
		return cs.DeleteCtx(ctx, token)
	}
	return s.inner.Delete(token)
}

// ---------------------------------------------------------------------------
// Indexes with faults

// leakyIndex lists every user's sessions whoever asks: a bug in the index
// must not let one user see or end another's sessions.
type leakyIndex struct{ *memIndex }

func (x leakyIndex) List(_ context.Context, _ int64, now time.Time) ([]session.Info, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []session.Info
	for _, s := range x.sessions {
		out = append(out, s)
	}
	return out, nil
}

// failingIndex refuses to add sessions.
type failingIndex struct{ *memIndex }

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
}

func newApp(store scs.Store, index session.Index, cfg session.Config) *app {
	a := &app{m: session.New(store, index, cfg)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /put", func(w http.ResponseWriter, r *http.Request) {
		a.m.SetBytes(r.Context(), "note", []byte(r.FormValue("v")))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		w.Write(a.m.Bytes(r.Context(), "note"))
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if id, ok := a.m.UserID(r.Context()); ok {
			fmt.Fprintf(w, "user %d", id)
			return
		}
		io.WriteString(w, "anonymous")
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.FormValue("user"), 10, 64)
		if err := a.m.Login(r, id); err != nil {
			http.Error(w, "login failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := a.m.Logout(r.Context()); err != nil {
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
		json.NewEncoder(w).Encode(list) // Token included: this is a test
	}))
	mux.Handle("POST /revoke", signedIn(func(w http.ResponseWriter, r *http.Request, id int64) {
		err := a.m.Revoke(r.Context(), id, r.FormValue("id"))
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
	app    *app
	cookie string // the session cookie's name
	ua     string
	jar    map[string]*http.Cookie
	last   *http.Response
}

func newBrowser(t *testing.T, a *app, cookieName string) *browser {
	return &browser{t: t, app: a, cookie: cookieName, jar: map[string]*http.Cookie{}}
}

func (b *browser) do(method, target string) *http.Response {
	b.t.Helper()
	req := httptest.NewRequest(method, "https://bulwark.test"+target, nil)
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
	}
	for _, c := range b.jar {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	b.app.h.ServeHTTP(rec, req)
	resp := rec.Result()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(b.jar, c.Name)
		} else {
			b.jar[c.Name] = c
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

func (b *browser) token() string {
	if c := b.jar[b.cookie]; c != nil {
		return c.Value
	}
	return ""
}

// stolen is another browser (an attacker's) holding the given session token.
func (b *browser) stolen(token string) *browser {
	o := newBrowser(b.t, b.app, b.cookie)
	o.jar[b.cookie] = &http.Cookie{Name: b.cookie, Value: token}
	return o
}

func (b *browser) sessions() []session.Info {
	b.t.Helper()
	resp := b.do("GET", "/sessions")
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /sessions: status %d", resp.StatusCode)
	}
	var list []session.Info
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

// ---------------------------------------------------------------------------
// The cases, run on every store

const cookieSecure = "__Host-bulwark_session"

// secureCfg is the production shape: a Secure, __Host- cookie.
func secureCfg() session.Config { return session.Config{Secure: true} }

// setup makes one app over a fresh spy-wrapped store.
func setup(t *testing.T, open openStore, index session.Index, cfg session.Config) (*app, *spyStore) {
	spy := &spyStore{inner: open(t)}
	return newApp(spy, index, cfg), spy
}

var cases = []struct {
	name string
	run  func(t *testing.T, open openStore)
}{
	{"cookie attributes", func(t *testing.T, open openStore) {
		for _, secure := range []bool{true, false} {
			name := session.CookieName("bulwark_session", secure)
			a, _ := setup(t, open, newMemIndex(), session.Config{Secure: secure})
			b := newBrowser(t, a, name)
			check := func(step string) {
				t.Helper()
				raw := b.last.Header.Values("Set-Cookie")
				cookies := b.last.Cookies()
				if len(cookies) != 1 {
					t.Fatalf("secure=%v %s: Set-Cookie %q, want one cookie", secure, step, raw)
				}
				c := cookies[0]
				if c.Name != name || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
					c.Path != "/" || c.Secure != secure || c.Domain != "" ||
					strings.Contains(strings.ToLower(raw[0]), "domain=") {
					t.Errorf("secure=%v %s: Set-Cookie %q; want %s, HttpOnly, SameSite=Lax, Path=/, Secure=%v, no Domain",
						secure, step, raw[0], name, secure)
				}
			}
			b.do("GET", "/put?v=x")
			check("anonymous session")
			b.login(1)
			check("login")
			// A deletion a browser would ignore (wrong name, path or Secure
			// for a __Host- cookie) would leave the cookie in place.
			b.do("POST", "/logout")
			check("logout")
		}
		if got := session.CookieName("x", true); got != "__Host-x" {
			t.Errorf(`CookieName("x", true) = %q`, got)
		}
	}},

	{"login renews the token (session fixation)", func(t *testing.T, open openStore) {
		a, _ := setup(t, open, newMemIndex(), secureCfg())
		attacker := newBrowser(t, a, cookieSecure)
		attacker.do("GET", "/put?v=planted")
		planted := attacker.token()
		if planted == "" {
			t.Fatal("no anonymous session was made")
		}
		victim := attacker.stolen(planted) // the attacker plants the cookie in the victim's browser
		victim.login(1)
		if victim.token() == planted {
			t.Fatal("login kept the planted token")
		}
		wantUser(t, victim, "user 1")
		wantUser(t, attacker, "anonymous")
		// Values the attacker knows (a CSRF secret, say) do not carry over.
		if got := victim.body("GET", "/get"); got != "" {
			t.Errorf("planted value %q survived login", got)
		}
	}},

	{"logout destroys the session on the server", func(t *testing.T, open openStore) {
		index := newMemIndex()
		a, _ := setup(t, open, index, secureCfg())
		victim := newBrowser(t, a, cookieSecure)
		victim.login(1)
		thief := victim.stolen(victim.token())
		wantUser(t, thief, "user 1")
		victim.do("POST", "/logout")
		if victim.token() != "" {
			t.Error("logout left the cookie in the browser")
		}
		wantUser(t, victim, "anonymous")
		wantUser(t, thief, "anonymous") // replaying the stolen cookie fails
		if list, _ := index.List(context.Background(), 1, time.Now()); len(list) != 0 {
			t.Errorf("index still lists %d sessions after logout", len(list))
		}
	}},

	{"password change signs out the other browsers", func(t *testing.T, open openStore) {
		a, _ := setup(t, open, newMemIndex(), secureCfg())
		A, B, C := newBrowser(t, a, cookieSecure), newBrowser(t, a, cookieSecure), newBrowser(t, a, cookieSecure)
		other := newBrowser(t, a, cookieSecure)
		A.login(1)
		B.login(1)
		C.login(1)
		other.login(2)
		old := A.token()
		if resp := A.do("POST", "/password"); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST /password: status %d", resp.StatusCode)
		}
		if A.token() == "" || A.token() == old {
			t.Error("the session was not given a new token")
		}
		wantUser(t, A, "user 1")
		wantUser(t, B, "anonymous")
		wantUser(t, C, "anonymous")
		wantUser(t, A.stolen(old), "anonymous")
		wantUser(t, other, "user 2") // another user's sessions are untouched
		if list := A.sessions(); len(list) != 1 || !list[0].Current {
			t.Errorf("sessions after password change: %+v, want only the current one", list)
		}
	}},

	{"revoke one session, and only one's own", func(t *testing.T, open openStore) {
		// The index is leaky on purpose: the Manager itself must refuse
		// another user's session.
		a, _ := setup(t, open, leakyIndex{newMemIndex()}, secureCfg())
		A, B := newBrowser(t, a, cookieSecure), newBrowser(t, a, cookieSecure)
		mallory := newBrowser(t, a, cookieSecure)
		A.login(1)
		B.login(1)
		mallory.login(2)
		var bID, aID string
		for _, s := range A.sessions() {
			if s.Current {
				aID = s.ID
			} else {
				bID = s.ID
			}
		}
		if aID == "" || bID == "" {
			t.Fatal("A's listing lacks A's or B's session")
		}
		// Mallory tries to end user 1's sessions by ID.
		if resp := mallory.do("POST", "/revoke?id="+aID); resp.StatusCode != http.StatusNotFound {
			t.Errorf("revoking another user's session: status %d, want 404", resp.StatusCode)
		}
		wantUser(t, A, "user 1")
		if resp := A.do("POST", "/revoke?id="+bID); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke: status %d", resp.StatusCode)
		}
		wantUser(t, B, "anonymous")
		wantUser(t, A, "user 1")
		wantUser(t, mallory, "user 2")
		if resp := A.do("POST", "/revoke?id=nonsense"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("revoking an unknown ID: status %d, want 404", resp.StatusCode)
		}
		// Revoking one's own current session signs out.
		if resp := A.do("POST", "/revoke?id="+aID); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("revoke own: status %d", resp.StatusCode)
		}
		wantUser(t, A, "anonymous")
	}},

	{"sessions lists only the user's own, current marked", func(t *testing.T, open openStore) {
		a, _ := setup(t, open, leakyIndex{newMemIndex()}, secureCfg())
		A, B, C := newBrowser(t, a, cookieSecure), newBrowser(t, a, cookieSecure), newBrowser(t, a, cookieSecure)
		B.ua = "Browser\xffB\x00" + strings.Repeat("é", 200)
		A.login(1)
		B.login(1)
		C.login(2)
		list := A.sessions()
		if len(list) != 2 {
			t.Fatalf("A sees %d sessions, want 2: %+v", len(list), list)
		}
		current := 0
		for _, s := range list {
			if s.UserID != 1 || s.Token == C.token() {
				t.Errorf("A sees another user's session: %+v", s)
			}
			if s.Current {
				current++
				if s.Token != A.token() {
					t.Error("the current session is not A's")
				}
			} else if s.Token != B.token() {
				t.Error("the other session is not B's")
			} else if !strings.HasPrefix(s.UserAgent, "Browser\uFFFDB ") || len(s.UserAgent) > 256 {
				t.Errorf("B's user agent kept as %q", s.UserAgent)
			}
			if s.ID == "" || strings.Contains(s.Token, s.ID) || strings.Contains(s.ID, s.Token) {
				t.Errorf("public ID %q reveals or is missing the token", s.ID)
			}
		}
		if current != 1 {
			t.Errorf("%d sessions marked current, want 1", current)
		}
	}},

	{"idle timeout signs out unused sessions only", func(t *testing.T, open openStore) {
		index := newMemIndex()
		a, spy := setup(t, open, index, session.Config{
			Secure: true, IdleTimeout: 500 * time.Millisecond, TouchInterval: 50 * time.Millisecond,
		})
		busy, idle := newBrowser(t, a, cookieSecure), newBrowser(t, a, cookieSecure)
		busy.login(1)
		idle.login(1)
		stale := idle.token()
		before := spy.commits.Load()
		for range 10 {
			time.Sleep(100 * time.Millisecond)
			wantUser(t, busy, "user 1")
		}
		if spy.commits.Load() == before {
			t.Error("regular use never recorded last-seen")
		}
		if list := busy.sessions(); len(list) != 1 || !list[0].Current {
			t.Errorf("sessions lists an idle session: %+v", list)
		}
		wantUser(t, idle, "anonymous")
		wantUser(t, busy, "user 1")
		if list, _ := index.List(context.Background(), 1, time.Now()); len(list) != 1 || list[0].Token == stale {
			t.Errorf("index after idle sign-out: %d sessions", len(list))
		}
	}},

	{"a session revoked from the index ends at its next touch", func(t *testing.T, open openStore) {
		// Revocation deletes from the store first; if that delete was lost
		// (another instance, a store hiccup), the index still decides.
		index := newMemIndex()
		a, _ := setup(t, open, index, session.Config{Secure: true, TouchInterval: 20 * time.Millisecond})
		b := newBrowser(t, a, cookieSecure)
		b.login(1)
		index.Remove(context.Background(), b.token())
		time.Sleep(40 * time.Millisecond)
		wantUser(t, b, "anonymous")
	}},

	{"sessions per user are bounded, least recently used ends first", func(t *testing.T, open openStore) {
		a, _ := setup(t, open, newMemIndex(), session.Config{Secure: true, MaxPerUser: 3})
		var browsers []*browser
		for range 5 {
			b := newBrowser(t, a, cookieSecure)
			b.login(1)
			browsers = append(browsers, b)
			time.Sleep(2 * time.Millisecond) // distinct last-seen times
		}
		for i, b := range browsers {
			want := "user 1"
			if i < 2 {
				want = "anonymous"
			}
			wantUser(t, b, want)
		}
		if n := len(browsers[4].sessions()); n != 3 {
			t.Fatalf("%d sessions listed, want 3", n)
		}
	}},

	{"last-seen is not written on every request", func(t *testing.T, open openStore) {
		a, spy := setup(t, open, newMemIndex(), session.Config{
			Secure: true, IdleTimeout: time.Hour, TouchInterval: time.Hour,
		})
		b := newBrowser(t, a, cookieSecure)
		b.login(1)
		before := spy.commits.Load()
		for range 20 {
			wantUser(t, b, "user 1")
		}
		if n := spy.commits.Load() - before; n > 1 {
			t.Errorf("20 requests inside TouchInterval made %d commits, want at most 1", n)
		}

		// Once TouchInterval has passed, last-seen is written.
		index := newMemIndex()
		a, spy = setup(t, open, index, session.Config{
			Secure: true, IdleTimeout: time.Hour, TouchInterval: 100 * time.Millisecond,
		})
		b = newBrowser(t, a, cookieSecure)
		b.login(1)
		list, _ := index.List(context.Background(), 1, time.Now())
		loginSeen := list[0].LastSeen
		time.Sleep(150 * time.Millisecond)
		before = spy.commits.Load()
		wantUser(t, b, "user 1")
		if spy.commits.Load() == before {
			t.Error("no commit after TouchInterval")
		}
		list, _ = index.List(context.Background(), 1, time.Now())
		if !list[0].LastSeen.After(loginSeen) {
			t.Error("the index's last-seen was not updated")
		}
	}},

	{"store down fails closed", func(t *testing.T, open openStore) {
		a, spy := setup(t, open, newMemIndex(), secureCfg())
		b := newBrowser(t, a, cookieSecure)
		b.login(1)
		served := a.served.Load()
		spy.failFind.Store(true)
		resp := b.do("GET", "/whoami")
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("store down: status %d, want 503", resp.StatusCode)
		}
		if a.served.Load() != served {
			t.Error("a request was served while its session could not be read")
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("store down: the response set cookies %q", resp.Header.Values("Set-Cookie"))
		}
		spy.failFind.Store(false)
		wantUser(t, b, "user 1") // the outage did not end the session

		// A login whose session cannot be saved does not sign in.
		c := newBrowser(t, a, cookieSecure)
		spy.failCommit.Store(true)
		if resp := c.do("POST", "/login?user=2"); resp.StatusCode < 500 {
			t.Errorf("login with store down: status %d, want 5xx", resp.StatusCode)
		}
		spy.failCommit.Store(false)
		wantUser(t, c, "anonymous")
	}},

	{"login fails closed when the index is down", func(t *testing.T, open openStore) {
		a, _ := setup(t, open, failingIndex{newMemIndex()}, secureCfg())
		b := newBrowser(t, a, cookieSecure)
		if resp := b.do("POST", "/login?user=1"); resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("login with index down: status %d, want 500", resp.StatusCode)
		}
		// A session "sign out everywhere" cannot find must not exist.
		wantUser(t, b, "anonymous")
	}},

	{"signing in as another user drops the previous one's session", func(t *testing.T, open openStore) {
		index := newMemIndex()
		a, _ := setup(t, open, index, secureCfg())
		b := newBrowser(t, a, cookieSecure)
		b.login(1)
		first := b.token()
		b.do("GET", "/put?v=user-1-private")
		b.login(2)
		wantUser(t, b, "user 2")
		wantUser(t, b.stolen(first), "anonymous")
		if got := b.body("GET", "/get"); got != "" {
			t.Errorf("user 2 sees user 1's session value %q", got)
		}
		if list, _ := index.List(context.Background(), 1, time.Now()); len(list) != 0 {
			t.Errorf("user 1 still has %d indexed sessions", len(list))
		}
	}},
}

func TestManager(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			fresh := kind.prepare(t)
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, fresh(t)) })
			}
		})
	}
}

// TestTwoInstances runs two Managers, as two service instances would, on
// one shared store and one shared index.
func TestTwoInstances(t *testing.T) {
	for _, kind := range storeKinds {
		if kind.name == "sqlite" {
			continue // a local file: one instance only
		}
		t.Run(kind.name, func(t *testing.T) {
			open := kind.prepare(t)(t)
			index := newMemIndex()
			one, _ := setup(t, open, index, secureCfg())
			two, _ := setup(t, open, index, secureCfg())

			A := newBrowser(t, one, cookieSecure)
			A.login(1)
			A.app = two
			wantUser(t, A, "user 1") // made by one, valid on two

			B := newBrowser(t, two, cookieSecure)
			B.login(1)
			A.app = one
			if n := len(A.sessions()); n != 2 {
				t.Errorf("instance one lists %d sessions, want 2", n)
			}
			if resp := A.do("POST", "/password"); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("POST /password: status %d", resp.StatusCode)
			}
			wantUser(t, B, "anonymous") // revoked through one, ended on two

			token := A.token()
			A.app = two
			wantUser(t, A, "user 1")
			A.do("POST", "/logout")
			for _, a := range []*app{one, two} {
				thief := A.stolen(token)
				thief.app = a
				wantUser(t, thief, "anonymous") // logout through two ends it on both
			}
		})
	}
}

// TestRedisOutage stops a real redis-server under a signed-in session.
func TestRedisOutage(t *testing.T) {
	srv := testenv.NewRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	a := newApp(goredisstore.NewWithPrefix(client, "outage:"), newMemIndex(), secureCfg())
	b := newBrowser(t, a, cookieSecure)
	b.login(1)
	wantUser(t, b, "user 1")
	srv.Stop()
	resp := b.do("GET", "/whoami")
	if resp.StatusCode != http.StatusServiceUnavailable || a.served.Load() != 2 {
		t.Errorf("redis down: status %d after %d served requests, want 503 after 2", resp.StatusCode, a.served.Load())
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}

func TestDefaults(t *testing.T) {
	a := newApp(memstore.NewWithCleanupInterval(0), newMemIndex(), session.Config{})
	b := newBrowser(t, a, "bulwark_session")
	b.login(7)
	c := b.last.Cookies()
	if len(c) != 1 || c[0].Name != "bulwark_session" || c[0].Secure {
		t.Fatalf("default cookie: %q", b.last.Header.Values("Set-Cookie"))
	}
	// Lifetime defaults to 24h: the cookie expires then, not at the end of
	// the browser session.
	if d := time.Until(c[0].Expires); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("cookie expires in %v, want about 24h", d)
	}
	list := b.sessions()
	if len(list) != 1 || list[0].IP == "" {
		t.Errorf("sessions: %+v", list)
	}
}

// TestShortIdleTimeout sets an idle timeout below the default TouchInterval:
// a session in use must still stay signed in.
func TestShortIdleTimeout(t *testing.T) {
	a := newApp(memstore.NewWithCleanupInterval(0), newMemIndex(), session.Config{IdleTimeout: 300 * time.Millisecond})
	b := newBrowser(t, a, "bulwark_session")
	b.login(1)
	for range 6 {
		time.Sleep(100 * time.Millisecond)
		wantUser(t, b, "user 1")
	}
}

// BenchmarkHandler measures a signed-in request that does not touch the store
// beyond reading the session.
func BenchmarkHandler(b *testing.B) {
	store := memstore.NewWithCleanupInterval(0)
	a := newApp(store, newMemIndex(), session.Config{Secure: true})
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, httptest.NewRequest("POST", "https://bulwark.test/login?user=1", nil))
	cookie := rec.Result().Cookies()[0]
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "https://bulwark.test/whoami", nil)
		req.AddCookie(cookie)
		a.h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
