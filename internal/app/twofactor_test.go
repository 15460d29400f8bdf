package app

import (
	"bytes"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/totp"
)

// testClock is a clock the test moves (Deps.Now).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Unix(1_800_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// forEachBackendClock runs f on every backend with the service on clk.
func forEachBackendClock(t *testing.T, f func(t *testing.T, s *testServer, clk *testClock)) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			clk := newTestClock()
			f(t, startAppWith(t, be.env(t), func(d *Deps) { d.Now = clk.Now }), clk)
		})
	}
}

var (
	secretRE = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)
	codesRE  = regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`)
)

// signedOutWithTOTP registers email, turns TOTP on, signs out and moves the
// clock one step on, so the set-up code cannot serve again by accident. It
// returns the browser, the TOTP secret and the recovery codes.
func signedOutWithTOTP(t *testing.T, s *testServer, clk *testClock, email, name string) (*browser, string, []string) {
	t.Helper()
	b := s.browser(t)
	b.register(email, name, goodPassword)
	secret, codes := enableTOTP(t, b, clk)
	b.submit("/account", "/logout", url.Values{})
	clk.Add(totp.Period)
	return b, secret, codes
}

// enableTOTP turns TOTP on for b's signed-in account and returns the
// secret and the recovery codes.
func enableTOTP(t *testing.T, b *browser, clk *testClock) (string, []string) {
	t.Helper()
	if res := b.submit("/account", "/account/2fa/totp", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("start totp: %d %.300s", res.StatusCode, res.body)
	}
	page := b.get("/account")
	m := secretRE.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no secret on the account page: %.2000s", page.body)
	}
	qr := b.get("/account/2fa/totp/qr.png")
	if qr.StatusCode != http.StatusOK || qr.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(qr.body, "\x89PNG") {
		t.Fatalf("QR code: %d %s", qr.StatusCode, qr.Header.Get("Content-Type"))
	}
	res := b.submit("/account", "/account/2fa/totp/confirm", url.Values{"code": {code(t, m[1], clk)}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("confirm: %d %.500s", res.StatusCode, res.body)
	}
	var codes []string
	for _, c := range codesRE.FindAllStringSubmatch(res.body, -1) {
		codes = append(codes, c[1])
	}
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10", len(codes))
	}
	// Once on, the key is never shown again.
	if strings.Contains(b.get("/account").body, m[1]) || b.get("/account/2fa/totp/qr.png").StatusCode != http.StatusNotFound {
		t.Fatal("the key of a confirmed TOTP is still shown")
	}
	return m[1], codes
}

func code(t *testing.T, secret string, clk *testClock) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// passwordStep signs in with the password and expects the second step.
func passwordStep(t *testing.T, b *browser, email string, extra url.Values) {
	t.Helper()
	form := url.Values{"email": {email}, "password": {goodPassword}}
	for k, v := range extra {
		form[k] = v
	}
	res := b.submit("/login", "/login", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login/2fa" {
		t.Fatalf("password step: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func secondStep(b *browser, code string) response {
	b.t.Helper()
	return b.submit("/login/2fa", "/login/2fa", url.Values{"code": {code}})
}

func hasEvent(t *testing.T, s *testServer, email string, kind store.EventKind) int {
	t.Helper()
	u, err := s.deps.DB.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	events, err := s.deps.DB.RecentEvents(t.Context(), u.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// A right password alone never signs in when TOTP is on: the half-signed-in
// session reaches no signed-in page. (In pages/auth.go, drop the
// needsSecondFactor branch to see /account answer 200 here.)
func TestTwoFactorHalfSignedInIsNotSignedIn(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		b := s.browser(t)
		b.register("tess@example.com", "Tess", goodPassword)
		secret, _ := enableTOTP(t, b, clk)
		if !strings.Contains(b.get("/account").body, "totp_enabled") {
			t.Fatal("the account page does not show the totp_enabled event")
		}
		b.submit("/account", "/logout", url.Values{})
		before := b.cookie("bulwark_session")

		passwordStep(t, b, "tess@example.com", url.Values{"next": {"/search?q=x"}, "remember": {"1"}})
		half := b.cookie("bulwark_session")
		if half == "" || half == before {
			t.Fatal("the half-signed-in state did not get a fresh session token")
		}
		if res := b.get("/account"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Fatalf("GET /account half signed in: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res := b.get("/search?q=a"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("GET /search half signed in: %d", res.StatusCode)
		}
		// A valid CSRF token (from the second-step page) is not a sign-in.
		res := b.submit("/login/2fa", "/account/apikeys", url.Values{"name": {"x"}, "scope": {"files:read"}, "expires_days": {"30"}})
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("POST /account/apikeys half signed in: %d", res.StatusCode)
		}
		if b.get("/login/2fa").StatusCode != http.StatusOK {
			t.Fatal("the second-step form is not shown")
		}

		clk.Add(totp.Period)
		res = secondStep(b, code(t, secret, clk))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/search?q=x" {
			t.Fatalf("second step: %d %q %.300s", res.StatusCode, res.Header.Get("Location"), res.body)
		}
		// "Keep me signed in" was carried through: a persistent cookie.
		persistent := false
		for _, c := range res.Cookies() {
			persistent = persistent || (c.Name == "bulwark_session" && c.MaxAge > 0)
		}
		if !persistent {
			t.Fatalf("remember was lost: %q", res.Header.Values("Set-Cookie"))
		}
		if full := b.cookie("bulwark_session"); full == "" || full == half {
			t.Fatal("the full sign-in did not renew the session token")
		}
		if !b.signedIn() {
			t.Fatal("not signed in after the second step")
		}
	})
}

// Wrong codes are refused, recorded, and limited per account. (Set
// twoFactorLimit to a huge budget to see the 429 never come.)
func TestTwoFactorWrongCodeCountedAndLimited(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		b, secret, _ := signedOutWithTOTP(t, s, clk, "wes@example.com", "Wes")

		passwordStep(t, b, "wes@example.com", nil)
		right := code(t, secret, clk)
		wrong := "000000"
		if wrong == right {
			wrong = "111111"
		}
		for i := range 5 {
			if res := secondStep(b, wrong); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong code %d: %d", i, res.StatusCode)
			}
		}
		if n := hasEvent(t, s, "wes@example.com", store.EventSecondFactorFailure); n != 5 {
			t.Fatalf("%d second_factor_failure events, want 5", n)
		}
		// The budget is spent: even the right code now waits.
		res := secondStep(b, right)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("after the budget: %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
		}
		if hasEvent(t, s, "wes@example.com", store.EventSecondFactorThrottled) != 1 {
			t.Fatal("no second_factor_throttled event")
		}
		if b.signedIn() {
			t.Fatal("signed in past the limit")
		}
	})
}

// A TOTP code is accepted once. (Remove the AcceptTOTPStep check in
// pages/twofactor.go, and the lastStep check in totp.Validate, to see
// the second sign-in pass.)
func TestTwoFactorReplay(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		b, secret, _ := signedOutWithTOTP(t, s, clk, "rey@example.com", "Rey")

		c := code(t, secret, clk)
		passwordStep(t, b, "rey@example.com", nil)
		if res := secondStep(b, c); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first use: %d", res.StatusCode)
		}
		b.submit("/account", "/logout", url.Values{})

		// Ten seconds later, within the code's window, from another browser.
		clk.Add(10 * time.Second)
		thief := s.browser(t)
		passwordStep(t, thief, "rey@example.com", nil)
		if res := secondStep(thief, c); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("replayed code: %d", res.StatusCode)
		}
		if thief.signedIn() {
			t.Fatal("a replayed code signed in")
		}
		// The next code works.
		clk.Add(totp.Period)
		if res := secondStep(thief, code(t, secret, clk)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("next code: %d", res.StatusCode)
		}
	})
}

// A recovery code signs in once, and is recorded.
func TestTwoFactorRecoveryCodeOnce(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		b, _, codes := signedOutWithTOTP(t, s, clk, "rob@example.com", "Rob")

		passwordStep(t, b, "rob@example.com", nil)
		// Typed loosely: upper case, a space for the hyphen.
		if res := secondStep(b, strings.ToUpper(strings.Replace(codes[3], "-", " ", 1))); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("recovery code: %d %.300s", res.StatusCode, res.body)
		}
		if !strings.Contains(b.get("/account").body, "9 unused recovery codes") {
			t.Fatal("the account page does not count 9 codes left")
		}
		if hasEvent(t, s, "rob@example.com", store.EventRecoveryCodeUsed) != 1 {
			t.Fatal("no recovery_code_used event")
		}
		b.submit("/account", "/logout", url.Values{})
		passwordStep(t, b, "rob@example.com", nil)
		if res := secondStep(b, codes[3]); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("used recovery code again: %d", res.StatusCode)
		}
	})
}

// The half-signed-in state ends five minutes after the password. (Raise
// pendingLifetime in pages/twofactor.go to see the late code accepted.)
func TestTwoFactorPendingExpires(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		b, secret, _ := signedOutWithTOTP(t, s, clk, "eve@example.com", "Eve")

		passwordStep(t, b, "eve@example.com", nil)
		token := b.token("/login/2fa") // the form, loaded in time
		clk.Add(5*time.Minute + time.Second)
		res := b.post("/login/2fa", url.Values{"code": {code(t, secret, clk)}, "csrf_token": {token}})
		if res.StatusCode != http.StatusUnauthorized || b.signedIn() {
			t.Fatalf("code after 5 minutes: %d", res.StatusCode)
		}
		if res := b.get("/login/2fa"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Fatalf("expired second step: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		// Just inside the five minutes it works.
		clk.Add(totp.Period)
		passwordStep(t, b, "eve@example.com", nil)
		clk.Add(4*time.Minute + 50*time.Second)
		if res := secondStep(b, code(t, secret, clk)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("code within 5 minutes: %d", res.StatusCode)
		}
	})
}

// Turning TOTP off takes the password and a code; new recovery codes take
// the password and end the old set.
func TestTwoFactorDisableAndRegenerate(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		b := s.browser(t)
		b.register("dan@example.com", "Dan", goodPassword)
		secret, oldCodes := enableTOTP(t, b, clk)

		if res := b.submit("/account", "/account/2fa/recovery-codes", url.Values{"password": {"not the password"}}); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("regenerate with a wrong password: %d", res.StatusCode)
		}
		res := b.submit("/account", "/account/2fa/recovery-codes", url.Values{"password": {goodPassword}})
		newCodes := codesRE.FindAllStringSubmatch(res.body, -1)
		if res.StatusCode != http.StatusOK || len(newCodes) != 10 {
			t.Fatalf("regenerate: %d, %d codes", res.StatusCode, len(newCodes))
		}
		if hasEvent(t, s, "dan@example.com", store.EventRecoveryCodesRegenerated) != 1 {
			t.Fatal("no recovery_codes_regenerated event")
		}

		clk.Add(totp.Period)
		for _, form := range []url.Values{
			{"password": {goodPassword}},                                       // no code
			{"password": {goodPassword}, "code": {oldCodes[0]}},                // a code of the old set
			{"password": {"not the password"}, "code": {code(t, secret, clk)}}, // no password
		} {
			if res := b.submit("/account", "/account/2fa/disable", form); res.StatusCode != http.StatusBadRequest {
				t.Fatalf("disable with %v: %d", form, res.StatusCode)
			}
		}
		b.submit("/account", "/logout", url.Values{})
		passwordStep(t, b, "dan@example.com", nil)
		if res := secondStep(b, oldCodes[1]); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("old recovery code after regeneration: %d", res.StatusCode)
		}
		if res := secondStep(b, newCodes[0][1]); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("new recovery code: %d", res.StatusCode)
		}

		clk.Add(totp.Period)
		res = b.submit("/account", "/account/2fa/disable", url.Values{"password": {goodPassword}, "code": {code(t, secret, clk)}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("disable: %d %.300s", res.StatusCode, res.body)
		}
		if hasEvent(t, s, "dan@example.com", store.EventTOTPDisabled) != 1 {
			t.Fatal("no totp_disabled event")
		}
		b.submit("/account", "/logout", url.Values{})
		if res := b.login("dan@example.com", goodPassword); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("sign-in after disabling: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// otherKey is a second strong key, for rotation.
const otherKey = "9f1c2e7a5b3d4c8e0a6f2b1d7c3e9a5f4b8d0c2e6a1f3b7d5c9e0a4f2b6d8c1e"

// The secret is sealed at rest, and a secret (and recovery codes) made
// under the old SECRET_KEY still work after a rotation, the secret being
// sealed again under the new key. (Drop the fallback keys from
// secrets.NewSealer in pages/twofactor.go to see the rotated sign-in fail.)
func TestTwoFactorSecretAtRestAndRotation(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			env := be.env(t)
			if env["DATABASE_URL"] == "" {
				env["DATABASE_URL"] = "sqlite://" + filepath.Join(t.TempDir(), "shared.db")
			}
			clk := newTestClock()
			withClock := func(d *Deps) { d.Now = clk.Now }
			before := startAppWith(t, env, withClock)
			b := before.browser(t)
			b.register("kim@example.com", "Kim", goodPassword)
			secret, codes := enableTOTP(t, b, clk)

			sealed := func(s *testServer) []byte {
				var v []byte
				if err := s.deps.DB.SQL().QueryRowContext(t.Context(), `SELECT sealed FROM totp_secrets`).Scan(&v); err != nil {
					t.Fatal(err)
				}
				return v
			}
			atRest := sealed(before)
			if bytes.Contains(atRest, []byte(secret)) || bytes.Contains(bytes.ToLower(atRest), []byte(strings.ToLower(secret))) {
				t.Fatal("the TOTP secret is stored in the clear")
			}

			rotated := map[string]string{"SECRET_KEY": otherKey, "SECRET_KEY_FALLBACKS": testKey}
			for k, v := range env {
				rotated[k] = v
			}
			after := startAppWith(t, rotated, withClock)
			b2 := after.browser(t)
			clk.Add(totp.Period)
			passwordStep(t, b2, "kim@example.com", nil)
			if res := secondStep(b2, code(t, secret, clk)); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("TOTP after rotation: %d %.300s", res.StatusCode, res.body)
			}
			if bytes.Equal(sealed(after), atRest) {
				t.Fatal("the secret was not sealed again under the new key")
			}
			b2.submit("/account", "/logout", url.Values{})
			passwordStep(t, b2, "kim@example.com", nil)
			if res := secondStep(b2, codes[0]); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("recovery code after rotation: %d", res.StatusCode)
			}

			// The old key retired: the resealed secret still opens.
			retired := map[string]string{"SECRET_KEY": otherKey}
			for k, v := range env {
				retired[k] = v
			}
			only := startAppWith(t, retired, withClock)
			b3 := only.browser(t)
			clk.Add(totp.Period)
			passwordStep(t, b3, "kim@example.com", nil)
			if res := secondStep(b3, code(t, secret, clk)); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("TOTP with the old key retired: %d", res.StatusCode)
			}
		})
	}
}

// bulwark user reset-2fa turns the second factors off and records it.
func TestResetSecondFactorsCommand(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		b := s.browser(t)
		b.register("lou@example.com", "Lou", goodPassword)
		enableTOTP(t, b, clk)
		b.submit("/account", "/logout", url.Values{})

		removed, err := ResetSecondFactors(t.Context(), s.deps.Config, "Lou@Example.com")
		if err != nil || !removed {
			t.Fatalf("reset: %v %v", removed, err)
		}
		if hasEvent(t, s, "lou@example.com", store.EventSecondFactorsReset) != 1 {
			t.Fatal("no second_factors_reset event")
		}
		if res := b.login("lou@example.com", goodPassword); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("sign-in after reset: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if removed, err := ResetSecondFactors(t.Context(), s.deps.Config, "lou@example.com"); err != nil || removed {
			t.Fatalf("second reset: %v %v", removed, err)
		}
		if _, err := ResetSecondFactors(t.Context(), s.deps.Config, "nobody@example.com"); err == nil {
			t.Fatal("reset of an unknown account succeeded")
		}
	})
}
