package app

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/apikey"
)

// A02:2025 Security Misconfiguration.
//
// Already proven by older tests, not repeated here:
//   - TestHeadersOnEveryResponse (shields_test.go): the CONTRACT headers on
//     the home page, a 404, the API's 404, /healthz, static files, 413, 429;
//   - TestNonceIsFreshAndUsed (shields_test.go): a fresh CSP nonce, no
//     inline script or style;
//   - TestAllowedHosts, TestStaticListsNoDirectory (hardening_test.go):
//     Host header checked before any handler, no directory listings;
//   - `bulwark check --deploy` and production start-up refusals
//     (internal/config/check_test.go).
//
// This file adds the headers on every registered route (reviewedRoutes,
// attack_a01_access_control_test.go) and on every error status the
// service can give, and HSTS with the https redirect under FORCE_HTTPS.

// TestAttackA02HeadersOnEveryRouteAndStatus sends a request to every route
// in reviewedRoutes, signed in and with a key holding every scope, then
// provokes each error status, and checks the CONTRACT headers (checkHeaders)
// on every answer. To see it fail, remove a header from headers.Policy's
// Handler, or move hdrs.Handler inside the pages group in NewHandler so the
// API and the early refusals lose it.
func TestAttackA02HeadersOnEveryRouteAndStatus(t *testing.T) {
	const secret = "whsec-0f9e8d7c6b5a49382716051f2e3d4c5b"
	s := startApp(t, map[string]string{"WEBHOOK_SECRET": secret, "MAX_CONTENT_LENGTH": "64KiB"})
	b := s.browser(t)
	b.register("headers@example.com", "Headers", goodPassword)
	admin := makeUser(t, s, "headers-admin@example.com", true)
	key, _ := makeKey(t, s, admin, apikey.UsersRead, apikey.UsersWrite, apikey.FilesRead, apikey.FilesWrite)

	seen := map[int][]string{}
	check := func(what string, res response) {
		t.Helper()
		seen[res.StatusCode] = append(seen[res.StatusCode], what)
		if res.Header.Get("Referrer-Policy") == "no-referrer" {
			// Stricter than CONTRACT's default, on the pages whose URL
			// holds a mailed token (pages/recovery.go): allowed.
			res.Header = res.Header.Clone()
			res.Header.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		}
		checkHeaders(t, what, res)
		if res.StatusCode >= 400 {
			checkNoLeak(t, what, res.body)
		}
	}

	// Every route, in a stable order; /logout last, as it ends the session.
	var patterns []string
	for p := range reviewedRoutes {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	for _, p := range patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			method, path = "GET", p
		}
		if p == "POST /logout" || p == "GET /metrics" {
			continue
		}
		path = strings.NewReplacer("{id}", "1", "{$}", "").Replace(path)
		if path == "/static/" {
			path = "/static/style.css"
		}
		switch {
		case strings.HasPrefix(path, "/api/"):
			check(p, asResponse(call(t, s.URL, method, path, key, "", nil)))
		case method == "GET":
			check(p, b.get(path))
		default:
			check(p, b.post(path, url.Values{"csrf_token": {b.token("/account")}}))
		}
	}
	check("POST /logout", b.submit("/account", "/logout", url.Values{}))

	// Each error status, where the service can give it.
	anon := s.browser(t)
	req, _ := http.NewRequest("GET", s.URL+"/", nil)
	req.Host = "evil.example"
	check("400 unknown Host", anon.do(req))
	signedIn := s.browser(t)
	signedIn.register("errors@example.com", "Errors", goodPassword)
	check("400 long search", signedIn.get("/search?q="+strings.Repeat("a", 101)))
	check("400 API JSON", asResponse(call(t, s.URL, "POST", "/api/users", key, "application/json", strings.NewReader(`{"name":`))))
	check("401 login", anon.submit("/login", "/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong wrong wrong"}}))
	check("401 API no key", asResponse(call(t, s.URL, "GET", "/api/me", "", "", nil)))
	check("401 webhook", asResponse(call(t, s.URL, "POST", "/api/webhook", "", "application/json", strings.NewReader(`{}`))))
	check("403 CSRF", signedIn.post("/account/profile", url.Values{"name": {"x"}}))
	check("403 cross-site", signedIn.post("/account/profile", url.Values{"name": {"x"}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"))
	reader, _ := makeKey(t, s, admin, apikey.FilesRead)
	check("403 API scope", asResponse(call(t, s.URL, "GET", "/api/users/1", reader, "", nil)))
	check("404 page", anon.get("/no/such/page"))
	check("404 API", asResponse(call(t, s.URL, "GET", "/api/no/such", key, "", nil)))
	for _, m := range []string{"PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"} {
		for _, path := range []string{"/login", "/healthz", "/api/me", "/static/style.css"} {
			r, _ := http.NewRequest(m, s.URL+path, nil)
			check(m+" "+path, anon.do(r))
		}
	}
	check("413 form", anon.post("/register", url.Values{"name": {strings.Repeat("x", 70<<10)}}))
	check("413 API", asResponse(call(t, s.URL, "POST", "/api/users", key, "application/json", strings.NewReader(`{"name":"`+strings.Repeat("x", 70<<10)+`"}`))))
	check("415 API", asResponse(call(t, s.URL, "POST", "/api/users", key, "text/plain", strings.NewReader(`{}`))))

	// 429: a service with a small default limit.
	small := startApp(t, map[string]string{"RATELIMIT_DEFAULT": "3 per minute"})
	sb := small.browser(t)
	for i := range 5 {
		check(fmt.Sprintf("page %d over 3/minute", i), sb.get("/login"))
		check(fmt.Sprintf("API %d over 3/minute", i), asResponse(call(t, small.URL, "GET", "/api/openapi.json", "", "", nil)))
	}

	// 500 and 503: a service whose database has gone away. Pages that need
	// the session store say 503; work that fails unexpectedly says 500.
	broken := startApp(t, nil)
	bb := broken.browser(t)
	bb.register("broken@example.com", "Broken", goodPassword)
	anonBroken := broken.browser(t)
	loginTok := anonBroken.token("/login")
	brokenKey, _ := makeKey(t, broken, makeUser(t, broken, "broken-key@example.com", false), apikey.UsersRead)
	if err := broken.deps.DB.Close(); err != nil {
		t.Fatal(err)
	}
	check("database gone: account page", bb.get("/account"))
	check("database gone: login", anonBroken.post("/login", url.Values{"csrf_token": {loginTok}, "email": {"broken@example.com"}, "password": {goodPassword}}))
	check("database gone: API", asResponse(call(t, broken.URL, "GET", "/api/me", brokenKey, "", nil)))
	check("database gone: readyz", anonBroken.get("/readyz"))

	for _, want := range []int{400, 401, 403, 404, 413, 415, 429, 500, 503} {
		if len(seen[want]) == 0 {
			t.Errorf("no request gave %d; the headers on it are unchecked", want)
		}
	}
	if len(seen[405]) == 0 {
		// Each group ends in a catch-all pattern ("/", "/api/"), so a
		// method a route lacks is answered 404 by the group's own responder.
		t.Log("405 is not reachable: an unknown method on a route is the group's 404")
	}
	var statuses []int
	for st := range seen {
		statuses = append(statuses, st)
	}
	sort.Ints(statuses)
	t.Logf("statuses checked: %v", statuses)
}

// TestAttackA02HTTPSForced: with FORCE_HTTPS, plain http is redirected
// (301 for GET, 308 for POST, so a form is not silently turned into a GET)
// and every answer over https carries HSTS with includeSubDomains, errors
// included. The scheme comes from X-Forwarded-Proto only when the peer is
// in TRUSTED_PROXIES. To see it fail, set ForceHTTPS to false or
// HSTSMaxAge to 0 in NewHandler's headers.Policy.
func TestAttackA02HTTPSForced(t *testing.T) {
	s := startApp(t, map[string]string{"FORCE_HTTPS": "true", "TRUSTED_PROXIES": "127.0.0.1/32"})
	b := s.browser(t)
	for method, want := range map[string]int{"GET": http.StatusMovedPermanently, "POST": http.StatusPermanentRedirect} {
		req, _ := http.NewRequest(method, s.URL+"/login", nil)
		res := b.do(req)
		if res.StatusCode != want || !strings.HasPrefix(res.Header.Get("Location"), "https://") {
			t.Errorf("%s over http: %d %q, want %d to https", method, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	for _, path := range []string{"/", "/login", "/no/such/page", "/api/me", "/static/style.css"} {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		res := b.do(req)
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			t.Errorf("%s over https (per the proxy): redirected %d", path, res.StatusCode)
		}
		if hsts := res.Header.Get("Strict-Transport-Security"); hsts != "max-age=31536000; includeSubDomains" {
			t.Errorf("%s (%d): Strict-Transport-Security %q", path, res.StatusCode, hsts)
		}
		checkHeaders(t, "https "+path, res)
	}
	// A client that is not the proxy cannot claim https and skip the
	// redirect (and so keep a session cookie on plain http).
	direct := startApp(t, map[string]string{"FORCE_HTTPS": "true"})
	req, _ := http.NewRequest("GET", direct.URL+"/login", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	if res := direct.browser(t).do(req); res.StatusCode != http.StatusMovedPermanently {
		t.Errorf("X-Forwarded-Proto from an untrusted peer believed: %d, want 301", res.StatusCode)
	}
}
