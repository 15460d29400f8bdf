package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base32"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/apikey"
)

// A04:2025 Cryptographic Failures.
//
// Already proven by older tests, not repeated here:
//   - TestSessionTokensNotStoredRaw (hardening_test.go): session tokens are
//     kept as hashes;
//   - TestTwoFactorSecretAtRestAndRotation (twofactor_test.go): the TOTP key
//     is encrypted at rest and survives SECRET_KEY rotation;
//   - TestLegacyHashUpgradedAtLogin (auth_test.go): old Werkzeug and bcrypt
//     hashes become argon2id at the next sign-in;
//   - TestAPIKeys (api_test.go): a key with a wrong checksum is refused;
//   - TestCSRF (auth_test.go): CSRF tokens are masked per render (BREACH).
//
// This file adds one sweep of everything the service stores, on every
// backend, for every secret a user holds at once, and the flags of every
// cookie it sets.

// dumpStore returns every value of every row of every table, and with
// Redis every string value and key name, as raw bytes.
func dumpStore(t *testing.T, s *testServer) [][]byte {
	t.Helper()
	ctx := context.Background()
	db := s.deps.DB.SQL()
	tables := listTables(t, db)
	if len(tables) < 5 {
		t.Fatalf("found only tables %v", tables)
	}
	var out [][]byte
	for _, table := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`) // names from the catalogue
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					out = append(out, v)
				case nil:
				default:
					out = append(out, fmt.Append(nil, v))
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	if s.deps.Redis != nil {
		keys, err := s.deps.Redis.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			out = append(out, []byte(k))
			if v, err := s.deps.Redis.Get(ctx, k).Bytes(); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

// listTables names the tables of the SQLite or PostgreSQL database.
func listTables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if _, err := db.Exec(`SELECT 1 FROM sqlite_master LIMIT 1`); err != nil {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// TestAttackA04NoSecretStoredInTheClear: one account holds, at once, a
// password, a session, an API key, a pending email verification link, a
// password reset link, a TOTP key and recovery codes. A copy of the whole
// database (and Redis) — a stolen backup — contains none of them as they
// were given to the user, nor the server's SECRET_KEY. To see it fail,
// store any of them as given, e.g. write tok.Plaintext instead of
// apikey.Hash(tok.Plaintext) in pages/apikeys.go.
func TestAttackA04NoSecretStoredInTheClear(t *testing.T) {
	forEachBackendMail(t, map[string]string{"EMAIL_VERIFICATION": "optional"}, func(t *testing.T, e *mailEnv) {
		const email = "vault@example.com"
		b := e.browser(t)
		b.register(email, "Vault", goodPassword)
		verify := link(t, e.mail.Wait(t, email, 0))
		key := pageKeyAfterVerify(t, e, b, verify)
		reset := e.resetLink(t, email)
		totpKey, codes := enableTOTP(t, b, e.clk)

		secrets := map[string][]byte{
			"password":          []byte(goodPassword),
			"session token":     []byte(b.cookie("bulwark_session")),
			"API key":           []byte(key),
			"API key body":      []byte(strings.TrimPrefix(key, apikey.Prefix)),
			"verification link": []byte(verify[strings.Index(verify, "token=")+6:]),
			"reset link":        []byte(reset[strings.Index(reset, "token=")+6:]),
			"TOTP key":          []byte(totpKey),
			"SECRET_KEY":        []byte(testKey),
		}
		if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(totpKey); err == nil {
			secrets["TOTP key bytes"] = raw
		}
		for i, c := range codes {
			secrets[fmt.Sprintf("recovery code %d", i)] = []byte(c)
			secrets[fmt.Sprintf("recovery code %d undashed", i)] = []byte(strings.ReplaceAll(c, "-", ""))
		}
		for what, v := range secrets {
			if len(v) < 8 {
				t.Fatalf("%s is too short to look for: %q", what, v)
			}
		}
		for _, v := range dumpStore(t, e.testServer) {
			for what, secret := range secrets {
				if bytes.Contains(v, secret) {
					t.Errorf("the %s is stored as given: %.80q", what, v)
				}
			}
		}
		// The password is stored as an argon2id hash.
		u, err := e.deps.DB.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("password stored as %.12q…, want argon2id", u.PasswordHash)
		}
	})
}

// pageKeyAfterVerify follows the verification link (keys need a verified
// address) and makes a key from the account page.
func pageKeyAfterVerify(t *testing.T, e *mailEnv, b *browser, verify string) string {
	t.Helper()
	// Follow it in another browser so b's session (and its token) stays
	// the one the test holds; the address is verified either way.
	other := e.browser(t)
	if res := other.get(verify); res.StatusCode >= 400 {
		t.Fatalf("verification link: %d", res.StatusCode)
	}
	// The link is spent now; a fresh one is mailed by nobody, so the
	// pending-link secret checked later is this spent one.
	return pageKey(t, b, "files:read")
}

// TestAttackA04CookieFlags: with SESSION_COOKIE_SECURE every cookie the
// service sets — session, remembered device, password reset, passkey
// challenge — is Secure, HttpOnly and SameSite, has no Domain, and the
// session cookie carries the __Host- prefix (so a sibling subdomain cannot
// plant or overwrite it). To see it fail, set Secure: false in
// session.Config's cookie or drop HttpOnly from any http.Cookie in pages.
func TestAttackA04CookieFlags(t *testing.T) {
	s := startApp(t, map[string]string{"SESSION_COOKIE_SECURE": "true"})
	b := s.browser(t)
	var cookies []*http.Cookie
	collect := func(res response) { cookies = append(cookies, res.Cookies()...) }

	form := url.Values{"email": {"cookie@example.com"}, "name": {"Cookie"}, "password": {goodPassword}}
	tok := b.token("/register")
	form.Set("csrf_token", tok)
	collect(b.post("/register", form))
	login := url.Values{"email": {"cookie@example.com"}, "password": {goodPassword}, "remember": {"1"}, "csrf_token": {b.token("/login")}}
	collect(b.post("/login", login))
	collect(b.postJSON("/login/passkey/begin", b.token("/login"), []byte(`{}`)))

	names := map[string]bool{}
	for _, c := range cookies {
		if c.MaxAge < 0 {
			continue // a deletion
		}
		names[c.Name] = true
		if !c.Secure || !c.HttpOnly || c.SameSite == http.SameSiteNoneMode || c.SameSite == http.SameSiteDefaultMode || c.Domain != "" || c.Path != "/" {
			t.Errorf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v Domain=%q Path=%q", c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Domain, c.Path)
		}
		if strings.Contains(c.Name, "session") && c.Name != "__Host-bulwark_session" {
			t.Errorf("session cookie named %q, want __Host-bulwark_session", c.Name)
		}
	}
	if !names["__Host-bulwark_session"] {
		t.Errorf("no __Host-bulwark_session cookie among %v", names)
	}
	if len(names) < 2 {
		t.Errorf("only cookies %v were set; the sweep looked at too little", names)
	}
}
