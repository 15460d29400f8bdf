package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// securityHeaders are the headers CONTRACT puts on every response.
var securityHeaders = map[string]string{
	"X-Content-Type-Options":     "nosniff",
	"X-Frame-Options":            "DENY",
	"Referrer-Policy":            "strict-origin-when-cross-origin",
	"Cross-Origin-Opener-Policy": "same-origin",
	"X-XSS-Protection":           "0",
	"Permissions-Policy":         "",
	"Content-Security-Policy":    "",
	"X-Request-Id":               "",
}

func checkHeaders(t *testing.T, what string, res response) {
	t.Helper()
	for k, want := range securityHeaders {
		got := res.Header.Get(k)
		if got == "" || (want != "" && got != want) {
			t.Errorf("%s (%d): %s = %q, want %q", what, res.StatusCode, k, got, want)
		}
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'", "'nonce-"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %s", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("%s: CSP allows unsafe-inline: %q", what, csp)
	}
}

func TestHeadersOnEveryResponse(t *testing.T) {
	s := startApp(t, map[string]string{"RATELIMIT_DEFAULT": "30 per minute", "MAX_CONTENT_LENGTH": "1KiB"})
	b := s.browser(t)
	checkHeaders(t, "home", b.get("/"))
	checkHeaders(t, "404", b.get("/no/such/page"))
	checkHeaders(t, "api 404", b.get("/api/nothing"))
	checkHeaders(t, "healthz", b.get("/healthz"))
	checkHeaders(t, "static", b.get("/static/style.css"))
	big := url.Values{"name": {strings.Repeat("x", 4096)}}
	res := b.post("/register", big)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", res.StatusCode)
	}
	checkHeaders(t, "413", res)
	var limited response
	for i := 0; i < 40; i++ {
		if limited = b.get("/"); limited.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if limited.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("no 429 after 40 requests over a 30/minute limit")
	}
	checkHeaders(t, "429", limited)
	if limited.Header.Get("Retry-After") == "" || limited.Header.Get("RateLimit") == "" || limited.Header.Get("RateLimit-Policy") == "" {
		t.Errorf("429 lacks Retry-After / RateLimit / RateLimit-Policy: %v", limited.Header)
	}
	// Health checks and static files are never limited.
	if res := b.get("/healthz"); res.StatusCode != http.StatusOK || res.body != "ok" {
		t.Errorf("healthz while limited: %d %q", res.StatusCode, res.body)
	}
}

func TestNonceIsFreshAndUsed(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	n1 := nonceOf(b.get("/login"))
	n2 := nonceOf(b.get("/login"))
	if n1 == "" || n1 == n2 {
		t.Fatalf("nonces %q and %q: want fresh non-empty values", n1, n2)
	}
	// A page holding a CSRF token must not be kept by any cache.
	if cc := b.get("/login").Header.Values("Cache-Control"); !strings.Contains(strings.Join(cc, ","), "no-store") {
		t.Errorf("login page Cache-Control %q lacks no-store", cc)
	}
	if res := b.get("/"); strings.Contains(res.body, "<script>") || strings.Contains(res.body, "style=") {
		t.Error("a page has an inline script or style attribute")
	}
}

func nonceOf(res response) string {
	csp := res.Header.Get("Content-Security-Policy")
	i := strings.Index(csp, "'nonce-")
	if i < 0 {
		return ""
	}
	rest := csp[i+7:]
	return rest[:strings.IndexByte(rest, '\'')]
}

// loginAttempt posts a wrong password from a client that claims, in
// X-Forwarded-For, to be xff.
func loginAttempt(b *browser, tok, email, xff string) response {
	return b.post("/login", url.Values{"csrf_token": {tok}, "email": {email}, "password": {"wrong wrong wrong wrong"}}, "X-Forwarded-For", xff)
}

func TestLoginLimit(t *testing.T) {
	for _, be := range []backend{backends()[0], backends()[2]} {
		t.Run(be.name, func(t *testing.T) {
			env := be.env(t)
			env["RATELIMIT_LOGIN"] = "5 per minute"
			s := startApp(t, env)
			b := s.browser(t)
			tok := b.token("/login")
			for i := 1; i <= 5; i++ {
				// A new spoofed address each time must not buy a new budget.
				if res := loginAttempt(b, tok, "u"+string(rune('a'+i))+"@example.com", "203.0.113."+string(rune('0'+i))); res.StatusCode != http.StatusUnauthorized {
					t.Fatalf("attempt %d: %d, want 401", i, res.StatusCode)
				}
			}
			res := loginAttempt(b, tok, "z@example.com", "198.51.100.7")
			if res.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("sixth attempt: %d, want 429", res.StatusCode)
			}
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		})
	}
}

func TestLoginLimitBehindTrustedProxy(t *testing.T) {
	s := startApp(t, map[string]string{"RATELIMIT_LOGIN": "5 per minute", "TRUSTED_PROXIES": "127.0.0.1/32"})
	b := s.browser(t)
	tok := b.token("/login")
	for i := 0; i < 5; i++ {
		loginAttempt(b, tok, "p@example.com", "192.0.2.1")
	}
	if res := loginAttempt(b, tok, "p@example.com", "192.0.2.1"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("client 192.0.2.1 sixth attempt: %d, want 429", res.StatusCode)
	}
	if res := loginAttempt(b, tok, "q@example.com", "198.51.100.2"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("client 198.51.100.2 has its own budget: %d, want 401", res.StatusCode)
	}
	// The attacker-supplied leftmost address is not believed.
	if res := loginAttempt(b, tok, "r@example.com", "192.0.2.99, 192.0.2.1"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("prepending an address escaped the limit: %d", res.StatusCode)
	}
}

// Failed sign-ins for one account: five per client network (/24), then
// 429 even from another address of that network; thirty from anywhere,
// then 429 from any new network; other accounts are not held.
func TestAccountLimit(t *testing.T) {
	s := startApp(t, map[string]string{"RATELIMIT_LOGIN": "1000 per minute", "TRUSTED_PROXIES": "127.0.0.1/32"})
	s.browser(t).register("target@example.com", "Target", goodPassword)
	b := s.browser(t)
	tok := b.token("/login")
	for i := range 5 {
		if res := loginAttempt(b, tok, "target@example.com", fmt.Sprintf("192.0.2.%d", i+1)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, res.StatusCode)
		}
	}
	if res := loginAttempt(b, tok, "Target@example.com", "192.0.2.99"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sixth failure from one network: %d, want 429", res.StatusCode)
	}
	for n := range 5 { // 25 more from five other networks: 30 in all
		for range 5 {
			if res := loginAttempt(b, tok, "target@example.com", fmt.Sprintf("10.%d.0.1", n)); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("network %d: %d", n, res.StatusCode)
			}
		}
	}
	if res := loginAttempt(b, tok, "target@example.com", "198.51.100.1"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("31st failure for one account from a new network: %d, want 429", res.StatusCode)
	}
	if res := loginAttempt(b, tok, "someone-else@example.com", "198.51.100.1"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another account is not limited: %d", res.StatusCode)
	}
}

// Two instances on one Redis share the login budget and the sessions.
func TestTwoInstancesShareRedis(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testenv.Postgres(t), "REDIS_URL": "redis://" + testenv.Redis(t) + "/1", "RATELIMIT_LOGIN": "5 per minute"}
	one, two := startApp(t, env), startApp(t, env)
	// Sessions: made on one, valid on two; logout on two ends it on one.
	b := one.browser(t)
	b.register("both@example.com", "Both", goodPassword)
	cookie := b.cookie("bulwark_session")
	c := two.browser(t)
	c.setCookie("bulwark_session", cookie)
	if !c.signedIn() {
		t.Fatal("a session made on one instance is not valid on the other")
	}
	c.submit("/account", "/logout", url.Values{})
	if b.signedIn() {
		t.Fatal("logout on one instance did not end the session on the other")
	}
	// Login budget: 3 attempts on one and 2 on two use it up.
	x, y := one.browser(t), two.browser(t)
	tx, ty := x.token("/login"), y.token("/login")
	for i := 0; i < 3; i++ {
		loginAttempt(x, tx, "n@example.com", "")
	}
	for i := 0; i < 2; i++ {
		loginAttempt(y, ty, "n@example.com", "")
	}
	if res := loginAttempt(x, tx, "n@example.com", ""); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt across two instances: %d, want 429", res.StatusCode)
	}
	// The per-account budget is keyed by an HMAC: no email in Redis.
	keys, err := one.deps.Redis.Keys(context.Background(), "*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("list Redis keys: %v %v", keys, err)
	}
	for _, k := range keys {
		if strings.Contains(k, "@") || strings.Contains(k, "example.com") {
			t.Fatalf("Redis key %q holds an email", k)
		}
	}
}

func TestRedisDownFailsClosed(t *testing.T) {
	redis := testenv.NewRedis(t)
	s := startApp(t, map[string]string{"DATABASE_URL": testenv.Postgres(t), "REDIS_URL": "redis://" + redis.Addr + "/0", "RATELIMIT_FAIL_OPEN": "false"})
	b := s.browser(t)
	b.register("down@example.com", "Down", goodPassword)
	b.submit("/account", "/logout", url.Values{})
	tok := b.token("/login")
	redis.Stop()
	res := b.post("/login", url.Values{"csrf_token": {tok}, "email": {"down@example.com"}, "password": {goodPassword}})
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("login with Redis down: %d, want 503", res.StatusCode)
	}
	if r := b.get("/readyz"); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %d, want 503", r.StatusCode)
	}
	redis.Start(t)
	// The session (with its CSRF secret) was in the old Redis: start over.
	if res := b.login("down@example.com", goodPassword); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after Redis came back: %d, want 303", res.StatusCode)
	}
}
