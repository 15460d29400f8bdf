package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/passkey/passkeytest"
)

// testOrigin is the default BASE_URL of the tests' configuration (ADDR
// 127.0.0.1:8080), the relying party the software authenticator signs for.
const testOrigin = "http://localhost:8080"

// postJSON sends body as the page's script would: same origin, JSON, the
// CSRF token in X-CSRFToken.
func (b *browser) postJSON(path, token string, body []byte) response {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-CSRFToken", token)
	return b.do(req)
}

// addPasskey registers a passkey named name from the account page with
// auth, and returns the options the server sent.
func addPasskey(t *testing.T, b *browser, auth *passkeytest.Authenticator, name string) (options string) {
	t.Helper()
	token := b.token("/account")
	body, _ := json.Marshal(map[string]string{"name": name})
	res := b.postJSON("/account/passkeys/begin", token, body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("begin registration: %d %.300s", res.StatusCode, res.body)
	}
	answer, _, err := auth.Register([]byte(res.body))
	if err != nil {
		t.Fatal(err)
	}
	fin := b.postJSON("/account/passkeys/finish", token, answer)
	if fin.StatusCode != http.StatusSeeOther || fin.Header.Get("Location") != "/account" {
		t.Fatalf("finish registration: %d %q %.300s", fin.StatusCode, fin.Header.Get("Location"), fin.body)
	}
	return res.body
}

// beginPasskeyLogin starts a sign-in from the login page and returns the
// options and the CSRF token used.
func beginPasskeyLogin(t *testing.T, b *browser) (options []byte, token string) {
	t.Helper()
	token = b.token("/login")
	res := b.postJSON("/login/passkey/begin", token, []byte(`{}`))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("begin sign-in: %d %.300s", res.StatusCode, res.body)
	}
	return []byte(res.body), token
}

// passkeyLogin signs b in with auth and returns the finish response and
// the assertion that was posted.
func passkeyLogin(t *testing.T, b *browser, auth *passkeytest.Authenticator) (response, []byte) {
	t.Helper()
	options, token := beginPasskeyLogin(t, b)
	assertion, err := auth.Login(options)
	if err != nil {
		t.Fatal(err)
	}
	return b.postJSON("/login/passkey/finish", token, assertion), assertion
}

func userPasskeys(t *testing.T, s *testServer, email string) []store.Passkey {
	t.Helper()
	ctx := context.Background()
	u, err := s.deps.DB.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.deps.DB.UserPasskeys(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func hasPasskeyEvent(t *testing.T, s *testServer, email string, kind store.EventKind) bool {
	t.Helper()
	ctx := context.Background()
	u, err := s.deps.DB.UserByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	events, err := s.deps.DB.RecentEvents(ctx, u.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		b := s.browser(t)
		b.register("pia@example.com", "Pia", goodPassword)
		auth := passkeytest.New(testOrigin)
		addPasskey(t, b, auth, "Laptop")
		addPasskey(t, b, passkeytest.New(testOrigin), "Phone")
		keys := userPasskeys(t, s, "pia@example.com")
		if len(keys) != 2 || keys[0].Name != "Laptop" || keys[1].Name != "Phone" {
			t.Fatalf("passkeys: %+v", keys)
		}
		page := b.get("/account")
		for _, want := range []string{"Laptop", "Phone", string(store.EventPasskeyAdded), `src="/static/passkey.js"`} {
			if !strings.Contains(page.body, want) {
				t.Errorf("account page lacks %q", want)
			}
		}
		b.submit("/account", "/logout", url.Values{})

		// A planted session cookie must not survive the sign-in (fixation).
		b.setCookie("bulwark_session", "planted-by-an-attacker")
		res, _ := passkeyLogin(t, b, auth)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("passkey sign-in: %d %q %.300s", res.StatusCode, res.Header.Get("Location"), res.body)
		}
		if got := b.cookie("bulwark_session"); got == "" || got == "planted-by-an-attacker" {
			t.Fatalf("session token not renewed at sign-in: %q", got)
		}
		if !b.signedIn() {
			t.Fatal("not signed in after the passkey sign-in")
		}
		if !hasPasskeyEvent(t, s, "pia@example.com", store.EventPasskeyLogin) {
			t.Fatal("no passkey_login event")
		}
		if keys := userPasskeys(t, s, "pia@example.com"); keys[0].Credential.SignCount != 1 || keys[0].LastUsed.IsZero() {
			t.Fatalf("counter and last use not recorded: %+v", keys[0])
		}
		// "next" is followed, local paths only.
		b.submit("/account", "/logout", url.Values{})
		options, token := beginPasskeyLogin(t, b)
		assertion, _ := auth.Login(options)
		res = b.postJSON("/login/passkey/finish?next="+url.QueryEscape("https://evil.example/"), token, assertion)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("foreign next: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// A challenge is used once. The same assertion posted again — by the same
// browser with its cookie restored, or by a thief who copied both — is
// refused. (Make store.PasskeyStore.Take a plain SELECT to see the replay
// sign in.)
func TestPasskeyReplayedChallengeRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		b := s.browser(t)
		b.register("rex@example.com", "Rex", goodPassword)
		auth := passkeytest.New(testOrigin)
		addPasskey(t, b, auth, "Key")
		b.submit("/account", "/logout", url.Values{})

		options, token := beginPasskeyLogin(t, b)
		challengeCookie := b.cookie("bulwark_passkey")
		assertion, _ := auth.Login(options)
		if res := b.postJSON("/login/passkey/finish", token, assertion); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first use: %d", res.StatusCode)
		}
		thief := s.browser(t)
		thiefToken := thief.token("/login")
		thief.setCookie("bulwark_passkey", challengeCookie)
		if res := thief.postJSON("/login/passkey/finish", thiefToken, assertion); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("replay: %d, want 400", res.StatusCode)
		}
		if thief.signedIn() {
			t.Fatal("the replay signed in")
		}
		// Without a challenge cookie there is nothing to finish.
		other := s.browser(t)
		if res := other.postJSON("/login/passkey/finish", other.token("/login"), assertion); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("no challenge: %d, want 400", res.StatusCode)
		}
		// A registration's challenge is the session's, and used once too.
		token = b.token("/login")
		if res := b.postJSON("/account/passkeys/finish", token, assertion); res.StatusCode == http.StatusSeeOther {
			t.Fatal("registration finished without a begin")
		}
	})
}

// Another user's passkey id is 404 on delete, as an unknown id, and the
// passkey stays. (Drop "AND user_id = $2" from store.DeletePasskey to see
// it go.)
func TestPasskeyDeleteOtherUsers404(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		alice := s.browser(t)
		alice.register("alice@example.com", "Alice", goodPassword)
		addPasskey(t, alice, passkeytest.New(testOrigin), "Alice's key")
		id := strconv.FormatInt(userPasskeys(t, s, "alice@example.com")[0].ID, 10)

		mallory := s.browser(t)
		mallory.register("mallory@example.com", "Mallory", goodPassword)
		for _, path := range []string{"/account/passkeys/" + id + "/delete", "/account/passkeys/999999/delete", "/account/passkeys/x/delete"} {
			if res := mallory.submit("/account", path, url.Values{}); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s by another user: %d, want 404", path, res.StatusCode)
			}
		}
		if len(userPasskeys(t, s, "alice@example.com")) != 1 {
			t.Fatal("another user deleted Alice's passkey")
		}
		res := alice.submit("/account", "/account/passkeys/"+id+"/delete", url.Values{})
		if res.StatusCode != http.StatusSeeOther || len(userPasskeys(t, s, "alice@example.com")) != 0 {
			t.Fatalf("owner's delete: %d", res.StatusCode)
		}
		if page := alice.get("/account"); !strings.Contains(page.body, string(store.EventPasskeyRemoved)) {
			t.Fatal("no passkey_removed event on the account page")
		}
	})
}

// The signature covers neither the user handle nor anything naming the
// account, so Alice (holding her own passkey) can send her assertion with
// Bob's handle. The credential is looked up among Bob's passkeys only and
// refused; trusting the credential id alone, or the handle alone, would
// sign her in as Bob.
func TestPasskeyOfUserACannotSignInAsB(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		alice := s.browser(t)
		alice.register("alice@example.com", "Alice", goodPassword)
		aliceKey := passkeytest.New(testOrigin)
		addPasskey(t, alice, aliceKey, "Alice's key")

		bob := s.browser(t)
		bob.register("bob@example.com", "Bob", goodPassword)
		var opts struct {
			PublicKey struct {
				User struct {
					ID string `json:"id"`
				} `json:"user"`
			} `json:"publicKey"`
		}
		json.Unmarshal([]byte(addPasskey(t, bob, passkeytest.New(testOrigin), "Bob's key")), &opts)
		bobHandle := opts.PublicKey.User.ID
		if bobHandle == "" {
			t.Fatal("no user handle in Bob's options")
		}

		attacker := s.browser(t)
		options, token := beginPasskeyLogin(t, attacker)
		assertion, _ := aliceKey.Login(options)
		var m map[string]any
		json.Unmarshal(assertion, &m)
		m["response"].(map[string]any)["userHandle"] = bobHandle
		forged, _ := json.Marshal(m)
		if res := attacker.postJSON("/login/passkey/finish", token, forged); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Alice's passkey with Bob's handle: %d, want 401", res.StatusCode)
		}
		if attacker.signedIn() {
			t.Fatal("signed in as Bob with Alice's passkey")
		}
		// A handle that is nobody's fails the same way.
		options, token = beginPasskeyLogin(t, attacker)
		assertion, _ = aliceKey.Login(options)
		json.Unmarshal(assertion, &m)
		m["response"].(map[string]any)["userHandle"] = base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		forged, _ = json.Marshal(m)
		if res := attacker.postJSON("/login/passkey/finish", token, forged); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unknown handle: %d, want 401", res.StatusCode)
		}
	})
}

// A sign counter that goes back is a cloned key: refused, recorded on the
// owner's account. (Remove the CloneWarning check in passkey.FinishLogin
// to see the clone sign in.)
func TestPasskeySignCounterRegressionRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		b := s.browser(t)
		b.register("cleo@example.com", "Cleo", goodPassword)
		auth := passkeytest.New(testOrigin)
		addPasskey(t, b, auth, "Key")
		b.submit("/account", "/logout", url.Values{})
		for range 3 {
			if res, _ := passkeyLogin(t, b, auth); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in: %d", res.StatusCode)
			}
			b.submit("/account", "/logout", url.Values{})
		}
		id := userPasskeys(t, s, "cleo@example.com")[0].Credential.ID
		auth.SetCounter(id, 1) // the copy signs with 2; the original is at 3
		clone := s.browser(t)
		if res, _ := passkeyLogin(t, clone, auth); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("clone: %d, want 401", res.StatusCode)
		}
		if clone.signedIn() {
			t.Fatal("the clone signed in")
		}
		if !hasPasskeyEvent(t, s, "cleo@example.com", store.EventPasskeyCloned) {
			t.Fatal("no passkey_clone_detected event")
		}
		if got := userPasskeys(t, s, "cleo@example.com")[0].Credential.SignCount; got != 3 {
			t.Fatalf("stored counter %d after the clone, want 3", got)
		}
	})
}

// POST /login/passkey/begin is limited per address like POST /login.
// (Remove the limiter from the route in passkeyRoutes to see it pass.)
func TestPasskeySignInLimited(t *testing.T) {
	s := startApp(t, map[string]string{"RATELIMIT_LOGIN": "3 per minute"})
	b := s.browser(t)
	token := b.token("/login")
	for i := range 4 {
		res := b.postJSON("/login/passkey/begin", token, []byte(`{}`))
		want := http.StatusOK
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if res.StatusCode != want {
			t.Fatalf("begin %d: %d, want %d", i+1, res.StatusCode, want)
		}
	}
}

// The ceremonies are CSRF-checked like every other POST: without the
// header token, begin is refused.
func TestPasskeyNeedsCSRFToken(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	b.token("/login") // the anonymous CSRF cookie
	if res := b.postJSON("/login/passkey/begin", "", []byte(`{}`)); res.StatusCode != http.StatusForbidden {
		t.Fatalf("begin without a token: %d, want 403", res.StatusCode)
	}
	b.register("tok@example.com", "Tok", goodPassword)
	if res := b.postJSON("/account/passkeys/begin", "", []byte(`{"name":"x"}`)); res.StatusCode != http.StatusForbidden {
		t.Fatalf("registration without a token: %d, want 403", res.StatusCode)
	}
}

// An anonymous begin keeps its challenge in the database and a cookie:
// no session is started for the visitor.
func TestPasskeyBeginStartsNoSession(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	options, _ := beginPasskeyLogin(t, b)
	if b.cookie("bulwark_passkey") == "" {
		t.Fatal("no challenge cookie")
	}
	if b.cookie("bulwark_session") != "" {
		t.Fatal("an anonymous passkey begin started a session")
	}
	var o struct {
		PublicKey struct {
			RPID             string `json:"rpId"`
			UserVerification string `json:"userVerification"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.RPID != "localhost" || o.PublicKey.UserVerification != "required" {
		t.Fatalf("options: %s (%v)", options, err)
	}
}

// With TOTP on, a right password leads to /login/2fa, where one of the
// account's passkeys can stand in for the code. Only that account's
// passkeys are asked for and accepted: someone who knows Alice's password
// cannot finish her second step with their own passkey. (Drop the
// pending-user case from beginPasskeyLogin to see Bob's passkey sign in as
// Bob instead of failing, and the check against pendingUser in
// finishPasskeyLogin to see it finish Alice's sign-in.)
func TestPasskeyAsSecondFactor(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		alice := s.browser(t)
		alice.register("alice@example.com", "Alice", goodPassword)
		enableTOTP(t, alice, clk)
		aliceKey := passkeytest.New(testOrigin)
		addPasskey(t, alice, aliceKey, "Alice's key")
		alice.submit("/account", "/logout", url.Values{})

		bob := s.browser(t)
		bob.register("bob@example.com", "Bob", goodPassword)
		bobKey := passkeytest.New(testOrigin)
		addPasskey(t, bob, bobKey, "Bob's key")

		// Bob knows Alice's password, and answers her second step with
		// his own passkey.
		mallory := s.browser(t)
		passwordStep(t, mallory, "alice@example.com", nil)
		page := mallory.get("/login/2fa")
		if !strings.Contains(page.body, "data-passkey-login") || !strings.Contains(page.body, `src="/static/passkey.js"`) {
			t.Fatal("the second step offers no passkey")
		}
		token := mallory.token("/login/2fa")
		res := mallory.postJSON("/login/passkey/begin", token, []byte(`{}`))
		if res.StatusCode != http.StatusOK || !strings.Contains(res.body, "allowCredentials") {
			t.Fatalf("begin for the pending user: %d %.300s", res.StatusCode, res.body)
		}
		if _, err := bobKey.Login([]byte(res.body)); err == nil {
			t.Fatal("Bob's authenticator found a credential the options allow")
		}
		var o map[string]any
		json.Unmarshal([]byte(res.body), &o)
		delete(o["publicKey"].(map[string]any), "allowCredentials")
		opts, _ := json.Marshal(o)
		assertion, err := bobKey.Login(opts)
		if err != nil {
			t.Fatal(err)
		}
		if res := mallory.postJSON("/login/passkey/finish", token, assertion); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("Bob's passkey for Alice's second step: %d, want 401", res.StatusCode)
		}
		if mallory.signedIn() {
			t.Fatal("signed in with another user's passkey as the second factor")
		}

		// Alice, with her passkey.
		passwordStep(t, alice, "alice@example.com", url.Values{"next": {"/search"}})
		token = alice.token("/login/2fa")
		res = alice.postJSON("/login/passkey/begin", token, []byte(`{}`))
		assertion, err = aliceKey.Login([]byte(res.body))
		if err != nil {
			t.Fatal(err)
		}
		fin := alice.postJSON("/login/passkey/finish", token, assertion)
		if fin.StatusCode != http.StatusSeeOther || fin.Header.Get("Location") != "/search" {
			t.Fatalf("second step with a passkey: %d %q %.300s", fin.StatusCode, fin.Header.Get("Location"), fin.body)
		}
		if !alice.signedIn() {
			t.Fatal("not signed in after the passkey second step")
		}
		if hasPasskeyEvent(t, s, "alice@example.com", store.EventPasskeyLogin) == false {
			t.Fatal("no passkey_login event")
		}
	})
}

// The operator's `bulwark user reset-2fa` removes passkeys with the other
// second factors: a lost or stolen passkey stops signing in.
func TestResetSecondFactorsRemovesPasskeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		b := s.browser(t)
		b.register("lea@example.com", "Lea", goodPassword)
		auth := passkeytest.New(testOrigin)
		addPasskey(t, b, auth, "Lost key")
		b.submit("/account", "/logout", url.Values{})
		removed, err := ResetSecondFactors(t.Context(), s.deps.Config, "lea@example.com")
		if err != nil || !removed {
			t.Fatalf("reset: %v %v", removed, err)
		}
		if keys := userPasskeys(t, s, "lea@example.com"); len(keys) != 0 {
			t.Fatalf("passkeys after the reset: %+v", keys)
		}
		if res, _ := passkeyLogin(t, s.browser(t), auth); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("sign-in with a reset passkey: %d, want 401", res.StatusCode)
		}
	})
}
