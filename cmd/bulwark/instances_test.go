package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/webhook"
)

// client is a browser-like HTTP client with its own cookies.
type client struct {
	t    *testing.T
	http *http.Client
}

func newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (c *client) get(u string) (int, string) {
	c.t.Helper()
	res, err := c.http.Get(u)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// submit posts a form taken from page, with its CSRF token, as same-origin.
func (c *client) submit(base, page, action string, form url.Values) int {
	c.t.Helper()
	_, body := c.get(base + page)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no form on %s%s", base, page)
	}
	form.Set("csrf_token", m[1])
	req, _ := http.NewRequest("POST", base+action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// moveCookies gives the browser's cookies for one instance to the other, as
// a load balancer sending the same browser to either would.
func (c *client) moveCookies(from, to string) {
	f, _ := url.Parse(from)
	d, _ := url.Parse(to)
	c.http.Jar.SetCookies(d, c.http.Jar.Cookies(f))
}

// Two real bulwark processes on one PostgreSQL and one Redis: a session made
// on one is valid on the other, logout on one ends it on both, and the login
// budget is shared.
func TestTwoProcessesShareState(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL":    testenv.Postgres(t),
		"REDIS_URL":       "redis://" + testenv.Redis(t) + "/2",
		"SECRET_KEY":      strongKey,
		"RATELIMIT_LOGIN": "5 per minute",
	}
	a, b, _ := twoProcesses(t, env)

	user := newClient(t)
	if code := user.submit(a, "/register", "/register", url.Values{"email": {"two@example.com"}, "name": {"Two"}, "password": {"saffron glacier tandem obelisk"}}); code != http.StatusSeeOther {
		t.Fatalf("register on A: %d", code)
	}
	user.moveCookies(a, b)
	if code, _ := user.get(b + "/account"); code != http.StatusOK {
		t.Fatalf("the session from A is not valid on B: %d", code)
	}
	if code := user.submit(b, "/account", "/logout", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("logout on B: %d", code)
	}
	user.moveCookies(b, a)
	if code, _ := user.get(a + "/account"); code == http.StatusOK {
		t.Fatal("logout on B did not end the session on A")
	}

	// 3 failed logins on A and 2 on B spend the budget of 5 for this address.
	guess := url.Values{"email": {"two@example.com"}, "password": {"not the password at all"}}
	guesser := newClient(t)
	for i, base := range []string{a, a, a, b, b} {
		if code := guesser.submit(base, "/login", "/login", guess); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, code)
		}
	}
	if code := guesser.submit(a, "/login", "/login", guess); code != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt across two processes: %d, want 429", code)
	}
}

// twoProcesses starts two `bulwark serve` processes with env (each on its
// own address and data directory) and returns their base URLs and the
// first one's directory; they stop when the test ends.
func twoProcesses(t *testing.T, env map[string]string) (a, b, dirA string) {
	t.Helper()
	dirA, dirB := t.TempDir(), t.TempDir()
	envA, envB := map[string]string{}, map[string]string{}
	for k, v := range env {
		envA[k], envB[k] = v, v
	}
	stopA := serveUntilHealthy(t, dirA, envA)
	t.Cleanup(func() { stopA() })
	stopB := serveUntilHealthy(t, dirB, envB)
	t.Cleanup(func() { stopB() })
	return "http://" + envA["ADDR"], "http://" + envB["ADDR"], dirA
}

// An API key revoked through one process (the CLI, on the shared database)
// is refused by both serving processes at once, and a signed webhook
// accepted by one is a replay on the other.
func TestTwoProcessesShareKeysAndWebhooks(t *testing.T) {
	env := map[string]string{
		"DATABASE_URL":   testenv.Postgres(t),
		"REDIS_URL":      "redis://" + testenv.Redis(t) + "/3",
		"SECRET_KEY":     strongKey,
		"WEBHOOK_SECRET": "whsec-5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d",
	}
	a, b, dirA := twoProcesses(t, env)

	ctx := context.Background()
	create := command(ctx, dirA, env, "user", "create", "--email", "keys@example.com", "--name", "Keys")
	create.Stdin = strings.NewReader("saffron glacier tandem obelisk\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	out, err := command(ctx, dirA, env, "apikey", "create", "--email", "keys@example.com", "--name", "two", "--scope", "users:read").Output()
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	key := strings.TrimSpace(string(out))
	me := func(base string) int {
		req, _ := http.NewRequest("GET", base+"/api/me", nil)
		req.Header.Set("X-API-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if me(a) != 200 || me(b) != 200 {
		t.Fatal("the key does not work on both processes")
	}
	id, err := apikey.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := command(ctx, dirA, env, "apikey", "revoke", id).CombinedOutput(); err != nil {
		t.Fatalf("apikey revoke: %v\n%s", err, out)
	}
	if ca, cb := me(a), me(b); ca != 401 || cb != 401 {
		t.Fatalf("after revocation: A %d, B %d; want 401 on both at once", ca, cb)
	}

	body := `{"event":"two"}`
	sig := webhook.Sign([]byte(env["WEBHOOK_SECRET"]), time.Now(), []byte(body))
	send := func(base string) int {
		req, _ := http.NewRequest("POST", base+"/api/webhook", strings.NewReader(body))
		req.Header.Set("X-Bulwark-Signature", sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if ca, cb := send(a), send(b); ca != 204 || cb != 409 {
		t.Fatalf("one delivery to A then B: %d, %d; want 204, 409", ca, cb)
	}
}
