package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/webhook"
)

// makeUser adds an account directly (no password) and returns it.
func makeUser(t *testing.T, s *testServer, email string, admin bool) *store.User {
	t.Helper()
	u := &store.User{Email: email, Name: strings.Split(email, "@")[0], Admin: admin}
	if err := s.deps.DB.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// makeKey gives u a key with scopes and returns it.
func makeKey(t *testing.T, s *testServer, u *store.User, scopes ...apikey.Scope) (string, *apikey.Key) {
	t.Helper()
	tok, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k := &apikey.Key{ID: tok.ID, UserID: u.ID, Name: "test", Hash: apikey.Hash(tok.Plaintext), Scopes: scopes}
	if err := s.deps.DB.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return tok.Plaintext, k
}

type apiResponse struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

// call sends an API request with key (none if empty) and a raw body.
func call(t *testing.T, base, method, path, key, contentType string, body io.Reader, hdr ...string) apiResponse {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, body)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := apiResponse{status: res.StatusCode, header: res.Header, body: string(b)}
	json.Unmarshal(b, &out.json)
	return out
}

func TestAPIKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ada := makeUser(t, s, "ada@example.com", false)
		key, k := makeKey(t, s, ada, apikey.UsersRead)
		me := call(t, s.URL, "GET", "/api/me", key, "", nil)
		if me.status != 200 || !strings.Contains(me.body, `"email":"ada@example.com"`) || !strings.Contains(me.body, `"users:read"`) {
			t.Fatalf("GET /api/me: %d %s", me.status, me.body)
		}
		// Bearer works too.
		if r := call(t, s.URL, "GET", "/api/me", "", "", nil, "Authorization", "Bearer "+key); r.status != 200 {
			t.Fatalf("Bearer: %d", r.status)
		}
		// The last character changed: refused (by the checksum, before any
		// database work; package apikey counts the lookups).
		swap := "a"
		if strings.HasSuffix(key, "a") {
			swap = "b"
		}
		bad := key[:len(key)-1] + swap
		r := call(t, s.URL, "GET", "/api/me", bad, "", nil)
		if r.status != 401 || r.header.Get("WWW-Authenticate") == "" || r.header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("a key changed in its last character: %d %q %s", r.status, r.header.Get("WWW-Authenticate"), r.body)
		}
		if r := call(t, s.URL, "GET", "/api/me", "", "", nil); r.status != 401 {
			t.Fatalf("no key: %d", r.status)
		}
		// Another person's record shows no email.
		bob := makeUser(t, s, "bob@example.com", false)
		r = call(t, s.URL, "GET", fmt.Sprintf("/api/users/%d", bob.ID), key, "", nil)
		if r.status != 200 || strings.Contains(r.body, "bob@example.com") {
			t.Fatalf("GET another user: %d %s", r.status, r.body)
		}
		if r := call(t, s.URL, "GET", "/api/users/999999", key, "", nil); r.status != 404 {
			t.Fatalf("unknown user: %d", r.status)
		}
		// A missing scope is 403.
		if r := call(t, s.URL, "POST", "/api/users", key, "application/json", strings.NewReader(`{}`)); r.status != 403 {
			t.Fatalf("POST /api/users without users:write: %d %s", r.status, r.body)
		}
		// Revoked: refused at once, on this instance and on another one
		// sharing the database (and Redis).
		if err := s.deps.DB.RevokeAPIKey(context.Background(), ada.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if r := call(t, s.URL, "GET", "/api/me", key, "", nil); r.status != 401 {
			t.Fatalf("revoked key: %d", r.status)
		}
		// Expired.
		expiring, ek := makeKey(t, s, ada, apikey.UsersRead)
		if _, err := s.deps.DB.SQL().Exec(`UPDATE api_keys SET expires_at = created_at WHERE id = $1`, ek.ID); err != nil {
			t.Fatal(err)
		}
		if r := call(t, s.URL, "GET", "/api/me", expiring, "", nil); r.status != 401 {
			t.Fatalf("expired key: %d", r.status)
		}
	})
}

// A key revoked through one instance is refused by another at once: there
// is no cache to outlive the revocation.
func TestAPIKeyRevokedOnEveryInstance(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testenv.Postgres(t), "REDIS_URL": "redis://" + testenv.Redis(t) + "/2"}
	one, two := startApp(t, env), startApp(t, env)
	u := makeUser(t, one, "multi@example.com", false)
	key, k := makeKey(t, one, u, apikey.UsersRead)
	if r := call(t, two.URL, "GET", "/api/me", key, "", nil); r.status != 200 {
		t.Fatalf("key on the second instance: %d", r.status)
	}
	if err := one.deps.DB.RevokeAPIKey(context.Background(), u.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if r := call(t, two.URL, "GET", "/api/me", key, "", nil); r.status != 401 {
		t.Fatalf("revoked on one instance, accepted on the other: %d", r.status)
	}
}

func TestAPICreateUserValidation(t *testing.T) {
	s := startApp(t, nil) // MAX_CONTENT_LENGTH at its default, 16 MiB
	admin := makeUser(t, s, "root@example.com", true)
	key, _ := makeKey(t, s, admin, apikey.UsersWrite, apikey.UsersRead)
	makeUser(t, s, "taken@example.com", false)
	post := func(ct, body string) apiResponse {
		return call(t, s.URL, "POST", "/api/users", key, ct, strings.NewReader(body))
	}
	const ok = `{"name":"New","email":"new@example.com","bio":"hi"}`
	cases := []struct {
		name, ct, body string
		status         int
		field          string
	}{
		{"wrong content type", "text/plain", ok, 415, ""},
		{"trailing data", "application/json", `{"name":"a"}{"x":1}`, 400, ""},
		{"unknown field", "application/json", `{"name":"a","email":"a@example.com","admin":true}`, 400, "admin"},
		{"wrong case", "application/json", `{"name":"a","Email":"a@example.com"}`, 400, "Email"},
		{"duplicate key", "application/json", `{"name":"a","email":"a@example.com","email":"b@example.com"}`, 400, ""},
		{"bad email", "application/json", `{"name":"a","email":"not-an-email"}`, 400, "email"},
		{"weak password", "application/json", `{"name":"a","email":"pw@example.com","password":"password"}`, 400, "password"},
		{"duplicate email", "application/json", `{"name":"a","email":"TAKEN@example.com"}`, 409, ""},
		{"valid", "application/json", ok, 201, ""},
	}
	for _, c := range cases {
		r := post(c.ct, c.body)
		if r.status != c.status {
			t.Errorf("%s: %d, want %d: %s", c.name, r.status, c.status, r.body)
			continue
		}
		if c.field != "" && !strings.Contains(r.body, `"field":"`+c.field+`"`) {
			t.Errorf("%s: the problem does not name field %q: %s", c.name, c.field, r.body)
		}
		if c.status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", c.name, r.header.Get("Content-Type"))
		}
	}
	big := bytes.Repeat([]byte("a"), 20<<20)
	if r := post("application/json", `{"name":"`+string(big)+`"}`); r.status != 413 {
		t.Errorf("20 MiB body: %d, want 413", r.status)
	}
}

func TestWebhook(t *testing.T) {
	const secret, oldSecret = "whsec-0f9e8d7c6b5a49382716051f2e3d4c5b", "whsec-old-1a2b3c4d5e6f708192a3b4c5d6e7f809"
	env := map[string]string{"DATABASE_URL": testenv.Postgres(t), "WEBHOOK_SECRET": secret, "WEBHOOK_SECRET_FALLBACKS": oldSecret}
	one, two := startApp(t, env), startApp(t, env)
	send := func(base, sig, body string) int {
		return call(t, base, "POST", "/api/webhook", "", "application/json", strings.NewReader(body), "X-Bulwark-Signature", sig).status
	}
	body := `{"event":"paid","id":1}`
	sig := webhook.Sign([]byte(secret), time.Now(), []byte(body))
	if got := send(one.URL, sig, body); got != 204 {
		t.Fatalf("valid delivery: %d", got)
	}
	if got := send(two.URL, sig, body); got != 409 {
		t.Fatalf("the same delivery to another instance: %d, want 409", got)
	}
	if got := send(one.URL, sig, body); got != 409 {
		t.Fatalf("the same delivery again: %d, want 409", got)
	}
	if got := send(one.URL, webhook.Sign([]byte(secret), time.Now().Add(-time.Hour), []byte(body)), body); got != 401 {
		t.Fatalf("an hour-old signature: %d, want 401", got)
	}
	if got := send(one.URL, webhook.Sign([]byte(secret), time.Now(), []byte(body)), body[:len(body)-2]+"2}"); got != 401 {
		t.Fatalf("a body changed by one byte: %d, want 401", got)
	}
	if got := send(one.URL, webhook.Sign([]byte(oldSecret), time.Now(), []byte(`{"id":2}`)), `{"id":2}`); got != 204 {
		t.Fatalf("the old secret during rotation: %d, want 204", got)
	}
	if got := send(one.URL, "", body); got != 401 {
		t.Fatalf("no signature: %d, want 401", got)
	}
	admin := makeUser(t, one, "hooks@example.com", true)
	key, _ := makeKey(t, one, admin, apikey.UsersRead)
	r := call(t, one.URL, "GET", "/api/webhook/events", key, "", nil)
	if r.status != 200 || !strings.Contains(r.body, `paid`) {
		t.Fatalf("webhook events: %d %s", r.status, r.body)
	}
	nonAdmin := makeUser(t, one, "peek@example.com", false)
	nkey, _ := makeKey(t, one, nonAdmin, apikey.UsersRead)
	if r := call(t, one.URL, "GET", "/api/webhook/events", nkey, "", nil); r.status != 403 {
		t.Fatalf("webhook events for a non-admin key: %d", r.status)
	}
	// Unset secret: the route does not exist.
	off := startApp(t, nil)
	if got := send(off.URL, sig, body); got != 404 {
		t.Fatalf("webhook without WEBHOOK_SECRET: %d, want 404", got)
	}
}

// The account page makes a key, shows it once, and lists and revokes the
// user's own keys; another user's key id is "not found".
func TestAccountPageAPIKeys(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	b.register("keys@example.com", "Keys", goodPassword)
	res := b.submit("/account", "/account/apikeys", map[string][]string{"name": {"deploy"}, "scope": {"users:read"}, "expires_days": {"30"}})
	key := regexp.MustCompile(`bwk_[0-9A-Za-z]+`).FindString(res.body)
	if res.StatusCode != 200 || key == "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create key: %d, key shown %v", res.StatusCode, key != "")
	}
	if r := call(t, s.URL, "GET", "/api/me", key, "", nil); r.status != 200 {
		t.Fatalf("the new key: %d", r.status)
	}
	if strings.Contains(b.get("/account").body, key) {
		t.Fatal("the key is shown again")
	}
	// A scope only administrators may grant is refused.
	if res := b.submit("/account", "/account/apikeys", map[string][]string{"name": {"x"}, "scope": {"users:write"}}); res.StatusCode != 400 {
		t.Fatalf("users:write for a non-admin: %d", res.StatusCode)
	}
	other := makeUser(t, s, "other@example.com", false)
	_, ok := makeKey(t, s, other, apikey.UsersRead)
	if res := b.submit("/account", "/account/apikeys/"+ok.ID+"/revoke", map[string][]string{}); res.StatusCode != 404 {
		t.Fatalf("revoking another user's key: %d, want 404", res.StatusCode)
	}
	id, _ := apikey.Parse(key)
	if res := b.submit("/account", "/account/apikeys/"+id+"/revoke", map[string][]string{}); res.StatusCode != 303 {
		t.Fatalf("revoke own key: %d", res.StatusCode)
	}
	if r := call(t, s.URL, "GET", "/api/me", key, "", nil); r.status != 401 {
		t.Fatalf("revoked key: %d", r.status)
	}
}

// Each key has its own budget (RATELIMIT_API), answered with the RateLimit
// headers; and a client sending bad keys is stopped per address, so keys
// cannot be guessed at the default rate. Remove the "api" limiter or
// guardBadKeys to see it fail.
func TestAPILimits(t *testing.T) {
	s := startApp(t, map[string]string{"RATELIMIT_API": "2 per minute", "RATELIMIT_LOGIN": "3 per minute"})
	u := makeUser(t, s, "limits@example.com", false)
	key, _ := makeKey(t, s, u, apikey.UsersRead)
	other, _ := makeKey(t, s, u, apikey.UsersRead)
	for i := range 2 {
		if r := call(t, s.URL, "GET", "/api/me", key, "", nil); r.status != 200 {
			t.Fatalf("call %d: %d", i, r.status)
		}
	}
	r := call(t, s.URL, "GET", "/api/me", key, "", nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.header.Get("RateLimit-Policy"), `"api"`) {
		t.Fatalf("third call with one key: %d %v", r.status, r.header)
	}
	if r := call(t, s.URL, "GET", "/api/me", other, "", nil); r.status != 200 {
		t.Fatalf("another key has its own budget: %d", r.status)
	}
	bad := key[:len(key)-6] + "AAAAAA"
	for range 3 {
		call(t, s.URL, "GET", "/api/me", bad, "", nil)
	}
	if r := call(t, s.URL, "GET", "/api/me", bad, "", nil); r.status != 429 {
		t.Fatalf("fourth bad key from one address: %d, want 429", r.status)
	}
}
