package app

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/passkey/passkeytest"
	"github.com/bulwarkhq/bulwark/webhook"
)

// A01:2025 Broken Access Control.
//
// Already proven by older tests, not repeated here:
//   - TestRevokeOneSession (auth_test.go), TestAccountPageAPIKeys
//     (api_test.go), TestPasskeyDeleteOtherUsers404 (passkey_test.go),
//     TestFilesUploadDownloadDelete and TestFilesOnAccountPage
//     (files_test.go): each object route, one at a time, with another
//     user's id is 404;
//   - TestSignedInPagesNeedASession (account_test.go): no session, no page;
//   - TestAPIKeys (api_test.go): a missing scope is 403, another user's
//     record shows no email; TestWebhook: the events list is for admins;
//     TestAccountPageAPIKeys: a user cannot grant users:write;
//   - TestCSRF (auth_test.go): cross-site request forgery (CWE-352, which
//     the 2025 list files under A01).
//
// This file adds the one table that tries every {id} route of the pages
// and the API with another user's ids, unknown ids and malformed ids, and
// then checks that the owner still has everything; and, because the 2025
// list folds server-side request forgery into A01, a review of every route
// for inputs that could make the server fetch a URL.

// TestAttackA01OtherUsersObjects: Mallory, signed in and with her own API
// key, sends Alice's file, session, key and passkey ids to every route
// that takes an {id}. Each answer is 404, the same as for an id that does
// not exist (never 403, which would confirm the id), and Alice loses
// nothing. To see it fail, drop the owner condition ("AND user_id = …")
// from the store query behind any one route, e.g. store.DeleteFile or
// store.RevokeSession.
func TestAttackA01OtherUsersObjects(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		alice := s.browser(t)
		alice.register("alice@example.com", "Alice", goodPassword)
		if res := pageUpload(t, alice, "alice.png", pngBytes(t)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("alice's upload: %d %.300s", res.StatusCode, res.body)
		}
		aliceKey := pageKey(t, alice, "files:read", "files:write")
		aliceLaptop := s.browser(t)
		if res := aliceLaptop.login("alice@example.com", goodPassword); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("alice's second sign-in: %d", res.StatusCode)
		}
		addPasskey(t, alice, passkeytest.New(testOrigin), "Alice's key")
		ids := map[string]string{
			"file":    idOn(t, alice, fileIDRE, "file link"),
			"session": idOn(t, alice, sessionIDRE, "session revoke form"),
			"key":     idOn(t, alice, keyIDRE, "key revoke form"),
			"passkey": idOn(t, alice, passkeyIDRE, "passkey delete form"),
		}

		mallory := s.browser(t)
		mallory.register("mallory@example.com", "Mallory", goodPassword)
		malloryKey := pageKey(t, mallory, "files:read", "files:write", "users:read")

		routes := []struct {
			method, path, kind string
			api                bool
		}{
			{"GET", "/files/{id}", "file", false},
			{"POST", "/files/{id}/delete", "file", false},
			{"POST", "/account/sessions/{id}/revoke", "session", false},
			{"POST", "/account/apikeys/{id}/revoke", "key", false},
			{"POST", "/account/passkeys/{id}/delete", "passkey", false},
			{"GET", "/api/files/{id}", "file", true},
			{"DELETE", "/api/files/{id}", "file", true},
		}
		// Besides Alice's real ids: ids that exist nowhere, and ids shaped
		// to confuse a parser or a query.
		strange := []string{"00000000-0000-0000-0000-000000000000", "0", "-1", "999999999999999999999999",
			"x'%20OR%20'1'='1", "..%2F..%2Fetc%2Fpasswd", strings.Repeat("a", 300)}
		for _, rt := range routes {
			for _, id := range append([]string{ids[rt.kind]}, strange...) {
				path := strings.Replace(rt.path, "{id}", id, 1)
				var status int
				var body string
				switch {
				case rt.api:
					r := call(t, s.URL, rt.method, path, malloryKey, "", nil)
					status, body = r.status, r.body
				case rt.method == "GET":
					r := mallory.get(path)
					status, body = r.StatusCode, r.body
				default:
					r := mallory.submit("/account", path, url.Values{})
					status, body = r.StatusCode, r.body
				}
				if status != http.StatusNotFound {
					t.Errorf("%s %s by another user: %d, want 404", rt.method, path, status)
				}
				checkNoLeak(t, rt.method+" "+path, body)
			}
		}

		// Mallory's own listings show none of Alice's objects.
		if r := call(t, s.URL, "GET", "/api/files", malloryKey, "", nil); r.status != 200 || strings.Contains(r.body, ids["file"]) {
			t.Errorf("Mallory's file list: %d %s", r.status, r.body)
		}
		if page := mallory.get("/account").body; strings.Contains(page, ids["file"]) || strings.Contains(page, "alice.png") || strings.Contains(page, ids["session"]) {
			t.Error("Mallory's account page shows Alice's objects")
		}

		// Alice still has everything Mallory aimed at.
		if res := alice.get("/files/" + ids["file"]); res.StatusCode != http.StatusOK {
			t.Errorf("Alice's file after the attack: %d", res.StatusCode)
		}
		if r := call(t, s.URL, "GET", "/api/files/"+ids["file"], aliceKey, "", nil); r.status != http.StatusOK {
			t.Errorf("Alice's file by her key after the attack: %d", r.status)
		}
		if !aliceLaptop.signedIn() {
			t.Error("Alice's other session was ended by Mallory")
		}
		if len(userPasskeys(t, s, "alice@example.com")) != 1 {
			t.Error("Alice's passkey was removed by Mallory")
		}
	})
}

// reviewedRoute is a route's inputs as reviewed for access control and
// for server-side request forgery. None of them is a URL the server
// fetches: the only URL-shaped inputs are next (a local path, redirected
// to, never fetched: TestNextIsLocalOnly) and the CSP report's fields
// (logged, never fetched).
type reviewedRoute struct {
	inputs   string
	optional bool // may be absent from the source (added by work under way)
}

// reviewedRoutes is every route pattern registered in internal/app, with
// its inputs. A route that is not here fails
// TestAttackA01NoRouteFetchesAURL until someone has looked at it and added
// it.
var reviewedRoutes = map[string]reviewedRoute{
	"GET /healthz":                       {inputs: "none"},
	"GET /readyz":                        {inputs: "none"},
	"GET /static/":                       {inputs: "path into the embedded static files"},
	"/api/":                              {inputs: "none: the API's 404"},
	"/":                                  {inputs: "none: the pages' 404, or the group's mux"},
	"GET /metrics":                       {inputs: "none (METRICS_ADDR only)", optional: true},
	"GET /{$}":                           {inputs: "none"},
	"GET /register":                      {inputs: "none"},
	"POST /register":                     {inputs: "form email, name, password, csrf_token"},
	"GET /login":                         {inputs: "query next (local path, echoed into the form)"},
	"POST /login":                        {inputs: "form email, password, next (local path), remember, csrf_token"},
	"POST /logout":                       {inputs: "form csrf_token"},
	"GET /account":                       {inputs: "none"},
	"POST /account/profile":              {inputs: "form name, bio"},
	"POST /account/password":             {inputs: "form current_password, new_password"},
	"POST /account/sessions/{id}/revoke": {inputs: "path id (owner's sessions only)"},
	"POST /account/apikeys":              {inputs: "form name, scope, expires_days"},
	"POST /account/apikeys/{id}/revoke":  {inputs: "path id (owner's keys only)"},
	"POST /files":                        {inputs: "multipart csrf_token, file"},
	"GET /files/{id}":                    {inputs: "path id (owner's files only)"},
	"POST /files/{id}/delete":            {inputs: "path id (owner's files only)"},
	"GET /search":                        {inputs: "query q, cursor"},
	"GET /password/forgot":               {inputs: "none"},
	"POST /password/forgot":              {inputs: "form email"},
	"GET /password/reset":                {inputs: "query token (mailed)"},
	"POST /password/reset":               {inputs: "form new_password; reset cookie"},
	"GET /verify-email":                  {inputs: "query token (mailed)"},
	"POST /account/email":                {inputs: "form email, current_password"},
	"POST /account/email/verify":         {inputs: "none"},
	"GET /login/2fa":                     {inputs: "none"},
	"POST /login/2fa":                    {inputs: "form code"},
	"POST /account/2fa/totp":             {inputs: "none"},
	"GET /account/2fa/totp/qr.png":       {inputs: "none"},
	"POST /account/2fa/totp/confirm":     {inputs: "form code"},
	"POST /account/2fa/disable":          {inputs: "form current_password, code"},
	"POST /account/2fa/recovery-codes":   {inputs: "form current_password"},
	"POST /account/passkeys/begin":       {inputs: "JSON name"},
	"POST /account/passkeys/finish":      {inputs: "JSON WebAuthn attestation (verified, no URL followed)"},
	"POST /account/passkeys/{id}/delete": {inputs: "path id (owner's passkeys only)"},
	"POST /login/passkey/begin":          {inputs: "none"},
	"POST /login/passkey/finish":         {inputs: "JSON WebAuthn assertion (verified, no URL followed)"},
	"POST /csp-report":                   {inputs: "JSON CSP report (document-uri, blocked-uri: logged, never fetched)"},
	"GET /api/me":                        {inputs: "key"},
	"GET /api/users":                     {inputs: "key; query q, cursor"},
	"POST /api/users":                    {inputs: "key; JSON name, email, bio, password"},
	"GET /api/users/{id}":                {inputs: "key; path id (public profile)"},
	"GET /api/webhook/events":            {inputs: "key (admin)"},
	"GET /api/files":                     {inputs: "key"},
	"POST /api/files":                    {inputs: "key; multipart file"},
	"GET /api/files/{id}":                {inputs: "key; path id (owner's files only)"},
	"DELETE /api/files/{id}":             {inputs: "key; path id (owner's files only)"},
	"POST /api/webhook":                  {inputs: "signature header; body stored as received, never fetched"},
	"GET /api/openapi.json":              {inputs: "none"},
}

var (
	// handleRE finds mux registrations: handle("GET /x", …),
	// mux.Handle("/", …), mux.HandleFunc("GET /healthz", …).
	handleRE = regexp.MustCompile(`\b(?:handle|Handle|HandleFunc)\("([^"]+)"`)
	// apiRouteRE finds the API's route table: {"GET", "/api/me", …}.
	apiRouteRE = regexp.MustCompile(`\{"(GET|HEAD|POST|PUT|PATCH|DELETE)", "(/[^"]*)"`)
	// fetchRE finds the ways Go code makes an outbound request or
	// connection.
	fetchRE = regexp.MustCompile(`\bhttp\.(Get|Head|Post|PostForm|NewRequest|NewRequestWithContext)\(|\bhttp\.(DefaultClient|DefaultTransport)\b|\bhttp\.(Client|Transport)\{|\bnet\.Dial|\.DialContext\(|\bnet\.Dialer\{`)
)

// sourceRoutes reads the route patterns registered by the non-test Go
// files under internal/app, with the file each is in.
func sourceRoutes(t *testing.T) map[string]string {
	t.Helper()
	found := map[string]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range handleRE.FindAllStringSubmatch(string(src), -1) {
			found[m[1]] = path
		}
		for _, m := range apiRouteRE.FindAllStringSubmatch(string(src), -1) {
			found[m[1]+" "+m[2]] = path
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestAttackA01NoRouteFetchesAURL holds the service to "no route fetches
// a URL a client gives" in three ways: every registered route is in
// reviewedRoutes with its inputs (a new route fails here until reviewed);
// no handler code under internal/app makes an outbound HTTP request or
// connection; and a canary URL sent through every input that takes text
// is never requested. To see it fail, register a new route in
// pages.Handler, or add an http.Get to any handler.
func TestAttackA01NoRouteFetchesAURL(t *testing.T) {
	found := sourceRoutes(t)
	if len(found) < 40 {
		t.Fatalf("found only %d routes in the source: the patterns have changed shape; update handleRE/apiRouteRE", len(found))
	}
	var unreviewed []string
	for p, file := range found {
		if _, ok := reviewedRoutes[p]; !ok {
			unreviewed = append(unreviewed, p+" ("+file+")")
		}
	}
	sort.Strings(unreviewed)
	for _, p := range unreviewed {
		t.Errorf("route %s is not in reviewedRoutes: check who may reach it and that none of its inputs is fetched, then add it", p)
	}
	for p, r := range reviewedRoutes {
		if _, ok := found[p]; !ok && !r.optional {
			t.Errorf("reviewedRoutes lists %q, which is no longer registered: remove it", p)
		}
	}

	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if fetchRE.MatchString(line) {
				t.Errorf("%s:%d makes an outbound request: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The canary: any request to it is a fetch the service was talked into.
	var hits atomic.Int32
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer canary.Close()
	target := canary.URL + "/ssrf"

	const secret = "whsec-0f9e8d7c6b5a49382716051f2e3d4c5b"
	s := startApp(t, map[string]string{"WEBHOOK_SECRET": secret})
	b := s.browser(t)
	b.register("canary@example.com", "Canary", goodPassword)
	b.submit("/account", "/account/profile", url.Values{"name": {target}, "bio": {target + " " + canary.URL}})
	b.get("/search?q=" + url.QueryEscape(target))
	b.get("/login?next=" + url.QueryEscape(target))
	pageUpload(t, b, target+".png", pngBytes(t))
	b.postJSON("/account/passkeys/begin", b.token("/account"), []byte(`{"name":"`+target+`"}`))
	report := `{"csp-report":{"document-uri":"` + target + `","blocked-uri":"` + target + `","referrer":"` + target + `","source-file":"` + target + `"}}`
	call(t, s.URL, "POST", "/csp-report", "", "application/csp-report", strings.NewReader(report))
	call(t, s.URL, "GET", "/", "", "", nil, "Referer", target, "Origin", canary.URL)

	admin := makeUser(t, s, "canary-admin@example.com", true)
	key, _ := makeKey(t, s, admin, apikey.UsersRead, apikey.UsersWrite, apikey.FilesWrite)
	call(t, s.URL, "POST", "/api/users", key, "application/json",
		strings.NewReader(`{"name":"Canary","email":"canary2@example.com","bio":"`+target+`"}`))
	call(t, s.URL, "GET", "/api/users?q="+url.QueryEscape(target), key, "", nil)
	uploadAPI(t, s, key, target+".png", pngBytes(t))
	body := `{"url":"` + target + `","callback":"` + target + `","image":"` + target + `"}`
	if st := call(t, s.URL, "POST", "/api/webhook", "", "application/json", strings.NewReader(body),
		"X-Bulwark-Signature", webhook.Sign([]byte(secret), time.Now(), []byte(body))).status; st != http.StatusNoContent {
		t.Errorf("signed webhook with URLs: %d, want 204", st)
	}

	time.Sleep(200 * time.Millisecond) // mail and other work after the response
	if n := hits.Load(); n != 0 {
		t.Fatalf("the service fetched a URL a client gave it (%d requests)", n)
	}
}
