package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/password"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// backend is one way to store the service's state.
type backend struct {
	name string
	env  func(t *testing.T) map[string]string
}

// backends are the storage set-ups every behaviour is checked on: SQLite with
// sessions in the database and limits in memory (the default), PostgreSQL,
// and PostgreSQL with Redis for sessions and limits (multi-instance).
func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) map[string]string { return map[string]string{} }},
		{"postgres", func(t *testing.T) map[string]string {
			return map[string]string{"DATABASE_URL": testenv.Postgres(t)}
		}},
		{"postgres+redis", func(t *testing.T) map[string]string {
			addr := testenv.Redis(t)
			flushRedis(t, addr, 0)
			return map[string]string{"DATABASE_URL": testenv.Postgres(t), "REDIS_URL": "redis://" + addr + "/0"}
		}},
	}
}

// flushRedis empties database db of the Redis server shared by the
// package's tests: each test gets a fresh PostgreSQL database, so user ids
// (and with them the per-account limit keys) start again at 1.
func flushRedis(t *testing.T, addr string, db int) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
	defer c.Close()
	if err := c.FlushDB(context.Background()).Err(); err != nil {
		t.Fatalf("flush redis: %v", err)
	}
}

// testKey is a strong key for tests, never used anywhere else.
const testKey = "64b39b85715744027232e0f7c06cd55627159621cf18dce831430984682053d9"

// testConfig loads a configuration from env over test defaults.
func testConfig(t testing.TB, env map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	base := map[string]string{
		"DATA_DIR":          dir,
		"SECRET_KEY":        testKey,
		"RATELIMIT_DEFAULT": "10000 per minute",
		"RATELIMIT_LOGIN":   "1000 per minute",
		// Accounts start verified unless a test asks for verification
		// (recovery_test.go), so other tests need no mail.
		"EMAIL_VERIFICATION": "none",
	}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.Load(func(k string) string { return base[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// testServer is a running service with its backends.
type testServer struct {
	*httptest.Server
	deps *Deps
	logs *syncWriter
}

// cheapHasher keeps argon2id but with tiny costs, so the suite stays fast
// under -race; the costs themselves are tested in package password.
func cheapHasher() *password.Hasher {
	return password.NewHasher(password.Options{Params: password.Params{
		Memory: 512, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32,
	}})
}

func startApp(t testing.TB, env map[string]string) *testServer {
	t.Helper()
	return startAppWith(t, env, nil)
}

// startAppWith starts the service after change has adjusted its backends
// (a hasher with other costs, say), as a test's own composition root.
func startAppWith(t testing.TB, env map[string]string, change func(*Deps)) *testServer {
	t.Helper()
	return startAppOn(t, "127.0.0.1", env, change)
}

// startAppAtLocalhost starts the service on a loopback port whose origin,
// http://localhost:PORT, is also BASE_URL, so that links in mail lead a
// browser back to this server and WebAuthn has a valid relying party.
// Browsers treat http://localhost as a secure context.
func startAppAtLocalhost(t testing.TB, env map[string]string, change func(*Deps)) *testServer {
	t.Helper()
	return startAppOn(t, "localhost", env, change)
}

// startAppOn serves the service on a loopback port under the origin
// http://host:PORT; with host "localhost" that origin is also BASE_URL.
func startAppOn(t testing.TB, host string, env map[string]string, change func(*Deps)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	origin := fmt.Sprintf("http://%s:%d", host, ln.Addr().(*net.TCPAddr).Port)
	if host == "localhost" {
		all := map[string]string{"BASE_URL": origin}
		maps.Copy(all, env)
		env = all
	}
	cfg := testConfig(t, env)
	logs := &syncWriter{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := Open(context.Background(), cfg, log)
	if err != nil {
		ln.Close()
		t.Fatalf("app: %v", err)
	}
	d.Hasher = cheapHasher()
	if change != nil {
		change(d)
	}
	h, err := NewHandler(d)
	if err != nil {
		ln.Close()
		d.Close()
		t.Fatalf("app: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	srv.URL = origin
	t.Cleanup(func() { srv.Close(); d.Close() })
	return &testServer{Server: srv, deps: d, logs: logs}
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	t      testing.TB
	base   string
	client *http.Client
}

func (s *testServer) browser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.URL, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return response{res, string(body)}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

// post sends a same-origin form, as a browser would from the site's page.
func (b *browser) post(path string, form url.Values, hdr ...string) response {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return b.do(req)
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token loads a page and returns the CSRF token of its first form.
func (b *browser) token(path string) string {
	b.t.Helper()
	res := b.get(path)
	m := tokenRE.FindStringSubmatch(res.body)
	if m == nil {
		b.t.Fatalf("no csrf_token on %s (status %d)", path, res.StatusCode)
	}
	return m[1]
}

// submit loads path's form and posts it with its token to action.
func (b *browser) submit(page, action string, form url.Values) response {
	b.t.Helper()
	form.Set("csrf_token", b.token(page))
	return b.post(action, form)
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

const goodPassword = "violet kettle harbour sunrise"

func (b *browser) register(email, name, pw string) response {
	b.t.Helper()
	res := b.submit("/register", "/register", url.Values{"email": {email}, "name": {name}, "password": {pw}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		b.t.Fatalf("register %s: status %d location %q body %.300s", email, res.StatusCode, res.Header.Get("Location"), res.body)
	}
	return res
}

func (b *browser) login(email, pw string) response {
	b.t.Helper()
	return b.submit("/login", "/login", url.Values{"email": {email}, "password": {pw}})
}

func (b *browser) signedIn() bool {
	b.t.Helper()
	return b.get("/account").StatusCode == http.StatusOK
}

// syncWriter collects log output from concurrent requests.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
