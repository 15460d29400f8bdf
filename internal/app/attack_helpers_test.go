package app

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The attack suite: one file per category of the OWASP Top 10 2025 that
// applies to Bulwark (attack_a01_… to attack_a10_…), every test named
// TestAttack… so that `go test ./internal/app/ -run Attack` runs the lot.
// Each file's doc comment names the older tests that already prove part of
// its category, so the suite adds only what was missing. This file holds
// what several categories share.
//
// Two categories have no file of their own. A06 Insecure Design is about
// the design, not an input: its concrete cases are in other files and
// older tests (the route review in A01, limits that cannot lock a user out
// in TestNoLockOut, the quota race in TestFilesQuotaRace, anonymous forms
// that write nothing in TestAnonymousFormsWriteNothing). A09 Logging and
// Alerting Failures is proven by TestSecurityEventsRecorded,
// TestEveryLogLineOfARequestHasItsID, TestMailedTokensNotLogged and
// TestUnknownEmailFailuresAreCounted, and by the metrics of METRICS_ADDR.

// leakMarkers appear in Go stack traces, driver errors and raw error
// strings; none belongs in an answer to a client.
var leakMarkers = []string{"goroutine ", "panic(", "panic:", "runtime error", "runtime/debug", ".go:", "sql: ", "SQLSTATE", "sqlite", "redis:"}

// checkNoLeak fails if body shows internals.
func checkNoLeak(t *testing.T, what, body string) {
	t.Helper()
	body = maskVarying.ReplaceAllString(body, "") // random tokens may spell anything
	for _, m := range leakMarkers {
		if strings.Contains(body, m) {
			t.Errorf("%s: the answer shows internals (%q): %.300s", what, m, body)
		}
	}
}

// asResponse wraps an API answer so checkHeaders (shields_test.go) can
// read it.
func asResponse(r apiResponse) response {
	return response{&http.Response{StatusCode: r.status, Header: r.header}, r.body}
}

// pageUpload sends a file from the account page's form: the CSRF token
// first, then the file, as the page's form does.
func pageUpload(t *testing.T, b *browser, name string, content []byte) response {
	t.Helper()
	ct, body := multipartBody(name, content, "csrf_token", b.token("/account"))
	req, _ := http.NewRequest("POST", b.base+"/files", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// The account page's links and forms that carry object ids.
var (
	fileIDRE    = regexp.MustCompile(`href="/files/([^"/]+)"`)
	sessionIDRE = regexp.MustCompile(`action="/account/sessions/([^"/]+)/revoke"`)
	keyIDRE     = regexp.MustCompile(`action="/account/apikeys/([^"/]+)/revoke"`)
	passkeyIDRE = regexp.MustCompile(`action="/account/passkeys/([^"/]+)/delete"`)
)

// idOn returns the first id re finds on b's account page.
func idOn(t *testing.T, b *browser, re *regexp.Regexp, what string) string {
	t.Helper()
	m := re.FindStringSubmatch(b.get("/account").body)
	if m == nil {
		t.Fatalf("no %s on the account page", what)
	}
	return m[1]
}

// pageKey makes an API key from b's account page with scopes and returns
// it.
func pageKey(t *testing.T, b *browser, scopes ...string) string {
	t.Helper()
	res := b.submit("/account", "/account/apikeys", map[string][]string{"name": {"attack"}, "scope": scopes, "expires_days": {"30"}})
	key := regexp.MustCompile(`bwk_[0-9A-Za-z]+`).FindString(res.body)
	if res.StatusCode != http.StatusOK || key == "" {
		t.Fatalf("create key: %d %.300s", res.StatusCode, res.body)
	}
	return key
}
