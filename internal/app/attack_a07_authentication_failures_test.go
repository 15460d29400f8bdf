package app

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/totp"
)

// A07:2025 Authentication Failures.
//
// Already proven by older tests, not repeated here:
//   - enumeration: TestUnknownEmailAndWrongPasswordLookTheSame
//     (auth_test.go, login), TestMandatoryRegistrationRevealsNothing and
//     TestPasswordReset "unknown and known look the same" (recovery_test.go),
//     TestUnknownEmailsShareOneBudget (hardening_test.go, the limits);
//   - session fixation: TestSessionFixation (auth_test.go), and the fresh
//     token of the half-signed-in state in
//     TestTwoFactorHalfSignedInIsNotSignedIn (twofactor_test.go);
//   - brute force: TestLoginLimit, TestLoginLimitBehindTrustedProxy,
//     TestAccountLimit (shields_test.go: spoofed X-Forwarded-For, one account
//     from many networks), TestConcurrentGuessesStayInAccountBudget,
//     TestNoLockOut (hardening_test.go), TestTwoFactorWrongCodeCountedAndLimited;
//   - open redirect: TestNextIsLocalOnly (auth_test.go) for //host, /\host,
//     absolute URLs, javascript: and a tab;
//   - 2FA: TestTwoFactorHalfSignedInIsNotSignedIn (/account, /search and a
//     key made from the second-step page's token), TestTwoFactorReplay.
//
// This file adds guessing from many addresses of one network, the encoded
// open-redirect variants (also through the second step), a planted session
// id the server never issued, and the second step skipped on every route
// that needs a full sign-in.

// TestAttackA07GuessingFromOneNetwork: an attacker with an IPv6 /64 (what
// one subscriber gets) tries a password on many accounts from a new
// address each time; the per-address login limit counts the whole /64, and
// an IPv4 address written as IPv4-mapped IPv6 is the same client. To see it
// fail, make clientip.Key return the full IPv6 address.
func TestAttackA07GuessingFromOneNetwork(t *testing.T) {
	s := startApp(t, map[string]string{"RATELIMIT_LOGIN": "5 per minute", "TRUSTED_PROXIES": "127.0.0.1/32"})
	// Real accounts, so that the shared budget of unknown emails
	// (TestUnknownEmailsShareOneBudget) is not what stops the attacker.
	for _, n := range []string{"1", "2", "3", "4", "5", "9", "10"} {
		makeUser(t, s, "spray"+n+"@example.com", false)
	}
	b := s.browser(t)
	tok := b.token("/login")
	for i := 1; i <= 5; i++ {
		res := loginAttempt(b, tok, fmt.Sprintf("spray%d@example.com", i), fmt.Sprintf("2001:db8:1:2::%x", i*4099))
		if res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i, res.StatusCode)
		}
	}
	if res := loginAttempt(b, tok, "spray9@example.com", "2001:db8:1:2:ffff:ffff:ffff:fffe"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt from the same /64: %d, want 429", res.StatusCode)
	}
	if res := loginAttempt(b, tok, "spray10@example.com", "2001:db8:1:3::1"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the next /64 has its own budget: %d, want 401", res.StatusCode)
	}

	for i := range 5 {
		loginAttempt(b, tok, fmt.Sprintf("v4-%d@example.com", i), "192.0.2.44")
	}
	if res := loginAttempt(b, tok, "v4-x@example.com", "::ffff:192.0.2.44"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the same IPv4 address written as IPv4-mapped IPv6 got a new budget: %d", res.StatusCode)
	}
}

// TestAttackA07OpenRedirectEncoded: next values that a browser would
// resolve to another origin, in the spellings filters miss, never become
// the Location after sign-in or after the second step. To see it fail,
// drop the next[1] == '/' || '\\' check from web.LocalPath.
func TestAttackA07OpenRedirectEncoded(t *testing.T) {
	clk := newTestClock()
	s := startAppWith(t, nil, func(d *Deps) { d.Now = clk.Now })
	s.browser(t).register("redir@example.com", "Redir", goodPassword)
	_, secret, _ := signedOutWithTOTP(t, s, clk, "redir2fa@example.com", "Redir 2FA")

	hostile := []string{
		"//evil.example", "/\\evil.example", "\\\\evil.example", "https://evil.example", "https:evil.example",
		"HTTPS://evil.example", "//evil.example/%2e%2e", "/%2F/evil.example", "%2F%2Fevil.example",
		"/%5Cevil.example", "/\\/evil.example", " //evil.example", "/\x00/evil.example", "/\r\n/evil.example",
		"///evil.example", "////evil.example", "/ /evil.example", "//evil.example@bulwark.example",
		"http://127.0.0.1@evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
		"\u3002evil.example", "//evil%E3%80%82example", "/.\\evil.example",
	}
	safe := func(loc string) bool {
		u, err := url.Parse(loc)
		return err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(loc, "/") &&
			!strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, "/\\") && !strings.ContainsAny(loc, "\\\r\n\t\x00")
	}
	for _, next := range hostile {
		b := s.browser(t)
		res := b.submit("/login", "/login", url.Values{"email": {"redir@example.com"}, "password": {goodPassword}, "next": {next}})
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !safe(loc) {
			t.Errorf("next=%q: %d Location %q", next, res.StatusCode, loc)
		}
		// The login form echoes next from the query into a hidden field:
		// escaped, never as markup.
		if page := b.get("/login?next=" + url.QueryEscape(next)).body; strings.Contains(page, "<script>alert") {
			t.Errorf("the login form echoes next=%q unescaped", next)
		}

		clk.Add(totp.Period)
		c := s.browser(t)
		passwordStep(t, c, "redir2fa@example.com", url.Values{"next": {next}})
		res = secondStep(c, code(t, secret, clk))
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !safe(loc) {
			t.Errorf("next=%q through the second step: %d Location %q", next, res.StatusCode, loc)
		}
	}
}

// TestAttackA07PlantedSessionID: a session id the server never issued
// (chosen by an attacker and planted in the victim's browser) is not
// adopted at sign-in: the browser gets a fresh token, and the planted one
// opens nothing. To see it fail, make session.Manager load an unknown
// token as a new session under that token instead of issuing its own.
func TestAttackA07PlantedSessionID(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		s.browser(t).register("planted@example.com", "Planted", goodPassword)
		const planted = "AttackerChosenTokenAttackerChosenToken0123456"
		victim := s.browser(t)
		victim.setCookie("bulwark_session", planted)
		if res := victim.login("planted@example.com", goodPassword); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login with a planted id: %d", res.StatusCode)
		}
		if got := victim.cookie("bulwark_session"); got == planted || got == "" {
			t.Fatalf("the planted id was kept: %q", got)
		}
		attacker := s.browser(t)
		attacker.setCookie("bulwark_session", planted)
		if attacker.signedIn() {
			t.Fatal("the planted id opens the victim's account")
		}
	})
}

// TestAttackA07SecondStepSkipped: after the right password, with TOTP on,
// every route that needs a signed-in user refuses the half-signed-in
// session, whatever the method, and posting a code without having passed
// the password step signs no one in. To see it fail, let signedIn (pages)
// accept the pending state, e.g. drop the needsSecondFactor branch in
// pages/auth.go.
func TestAttackA07SecondStepSkipped(t *testing.T) {
	forEachBackendClock(t, func(t *testing.T, s *testServer, clk *testClock) {
		b, secret, _ := signedOutWithTOTP(t, s, clk, "skip@example.com", "Skip")

		// No password step at all: a right code is not a sign-in.
		clk.Add(totp.Period)
		stranger := s.browser(t)
		res := stranger.post("/login/2fa", url.Values{"csrf_token": {stranger.token("/login")}, "code": {code(t, secret, clk)}})
		if res.StatusCode == http.StatusSeeOther && stranger.signedIn() {
			t.Fatal("a code without the password step signed in")
		}

		passwordStep(t, b, "skip@example.com", nil)
		tok := b.token("/login/2fa")
		for p := range reviewedRoutes {
			method, path, ok := strings.Cut(p, " ")
			if !ok || !strings.HasPrefix(path, "/account") && !strings.HasPrefix(path, "/files") && path != "/search" {
				continue
			}
			path = strings.ReplaceAll(path, "{id}", "1")
			var res response
			if method == "GET" {
				res = b.get(path)
			} else {
				res = b.post(path, url.Values{"csrf_token": {tok}, "name": {"x"}, "bio": {"x"}, "scope": {"files:read"},
					"expires_days": {"30"}, "current_password": {goodPassword}, "new_password": {"a brand new passphrase here"}})
			}
			if res.StatusCode < 300 || res.StatusCode == http.StatusNotFound {
				t.Errorf("%s half signed in: %d, want a refusal", p, res.StatusCode)
			}
			if res.StatusCode == http.StatusSeeOther && !strings.HasPrefix(res.Header.Get("Location"), "/login") {
				t.Errorf("%s half signed in: redirected to %q", p, res.Header.Get("Location"))
			}
		}
		// Nothing changed, and the second step still works.
		clk.Add(totp.Period)
		if res := secondStep(b, code(t, secret, clk)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("second step after the attempts: %d", res.StatusCode)
		}
		page := b.get("/account").body
		if !strings.Contains(page, ">Skip<") || strings.Contains(page, "bwk_") {
			t.Error("a half-signed-in request changed the account")
		}
	})
}
