package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/webhook"
)

// A08:2025 Software or Data Integrity Failures.
//
// Already proven by older tests, not repeated here:
//   - TestWebhook (api_test.go): a replay to the same and to another
//     instance (409), an hour-old signature, a body changed by one byte, no
//     signature (401), the old secret during rotation;
//   - TestCSRF (auth_test.go): a token of another session;
//   - TestSecretKeyFallbacks (hardening_test.go): signed values under an old
//     key while it is a fallback.
//
// This file adds every other way to bend a signed webhook: each part of the
// header changed alone, the header's elements reordered or padded, a future
// timestamp, a signature under another key, the rotation replay, on every
// backend's replay store; and tampered signed cookies.

// TestAttackA08WebhookTampering: a captured delivery, changed in any one
// part, is refused (401); the same delivery resent in any spelling of its
// header is a replay (409); a stripped rotation header does not buy a
// second delivery. To see it fail, take the replay id from the signature
// that matched rather than from "<t>.<body>" in package webhook, or compare
// only the first v1 value.
func TestAttackA08WebhookTampering(t *testing.T) {
	const secret, oldSecret = "whsec-0f9e8d7c6b5a49382716051f2e3d4c5b", "whsec-old-1a2b3c4d5e6f708192a3b4c5d6e7f809"
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			env := be.env(t)
			env["WEBHOOK_SECRET"], env["WEBHOOK_SECRET_FALLBACKS"] = secret, oldSecret
			s := startApp(t, env)
			send := func(sig, body string) int {
				t.Helper()
				r := call(t, s.URL, "POST", "/api/webhook", "", "application/json", strings.NewReader(body), "X-Bulwark-Signature", sig)
				checkNoLeak(t, "webhook", r.body)
				return r.status
			}
			sign := func(key string, ts int64, body string) string {
				m := hmac.New(sha256.New, []byte(key))
				fmt.Fprintf(m, "%d.%s", ts, body)
				return hex.EncodeToString(m.Sum(nil))
			}
			now := time.Now().Unix()
			body := `{"event":"invoice.paid","amount":100}`
			good := sign(secret, now, body)
			flipped := []byte(good)
			flipped[10] ^= 1
			if flipped[10] < '0' || flipped[10] > 'f' {
				flipped[10] = '0'
			}

			tampered := map[string][2]string{ // header, body
				"amount changed":            {fmt.Sprintf("t=%d,v1=%s", now, good), strings.Replace(body, "100", "999", 1)},
				"whitespace added":          {fmt.Sprintf("t=%d,v1=%s", now, good), body + " "},
				"timestamp changed":         {fmt.Sprintf("t=%d,v1=%s", now+1, good), body},
				"signature bit flipped":     {fmt.Sprintf("t=%d,v1=%s", now, flipped), body},
				"other key":                 {fmt.Sprintf("t=%d,v1=%s", now, sign("whsec-guessed-0000000000000000000000", now, body)), body},
				"empty key":                 {fmt.Sprintf("t=%d,v1=%s", now, sign("", now, body)), body},
				"future timestamp":          {fmt.Sprintf("t=%d,v1=%s", now+3600, sign(secret, now+3600, body)), body},
				"old timestamp":             {fmt.Sprintf("t=%d,v1=%s", now-3600, sign(secret, now-3600, body)), body},
				"leading zero timestamp":    {fmt.Sprintf("t=0%d,v1=%s", now, sign(secret, now, body)), body},
				"two timestamps":            {fmt.Sprintf("t=%d,t=%d,v1=%s", now-3600, now, good), body},
				"v0 only":                   {fmt.Sprintf("t=%d,v0=%s", now, good), body},
				"truncated signature":       {fmt.Sprintf("t=%d,v1=%s", now, good[:32]), body},
				"signature of body only":    {fmt.Sprintf("t=%d,v1=%s", now, hex.EncodeToString(hmacOf(secret, body))), body},
				"nine v1 values":            {fmt.Sprintf("t=%d", now) + strings.Repeat(",v1="+strings.Repeat("0", 64), 8) + ",v1=" + good, body},
				"header of another request": {fmt.Sprintf("t=%d,v1=%s", now, sign(secret, now, `{"event":"other"}`)), body},
			}
			for what, c := range tampered {
				if got := send(c[0], c[1]); got != http.StatusUnauthorized {
					t.Errorf("%s: %d, want 401", what, got)
				}
			}

			if got := send(fmt.Sprintf("t=%d,v1=%s", now, good), body); got != http.StatusNoContent {
				t.Fatalf("the genuine delivery after the tampered ones: %d, want 204", got)
			}
			for what, sig := range map[string]string{
				"same header":        fmt.Sprintf("t=%d,v1=%s", now, good),
				"reordered":          fmt.Sprintf("v1=%s,t=%d", good, now),
				"spaces":             fmt.Sprintf("t=%d, v1=%s", now, good),
				"with a wrong v1":    fmt.Sprintf("t=%d,v1=%s,v1=%s", now, strings.Repeat("0", 64), good),
				"with a v0":          fmt.Sprintf("t=%d,v0=abc,v1=%s", now, good),
				"under the old key":  fmt.Sprintf("t=%d,v1=%s", now, sign(oldSecret, now, body)),
				"old and new, twice": fmt.Sprintf("t=%d,v1=%s,v1=%s", now, good, sign(oldSecret, now, body)),
			} {
				if got := send(sig, body); got != http.StatusConflict {
					t.Errorf("replay, %s: %d, want 409", what, got)
				}
			}

			// Rotation: the sender signs with both keys; replaying with only
			// the old key's value left is still the same delivery.
			body2 := `{"event":"invoice.paid","amount":200}`
			both := fmt.Sprintf("t=%d,v1=%s,v1=%s", now, sign(secret, now, body2), sign(oldSecret, now, body2))
			if got := send(both, body2); got != http.StatusNoContent {
				t.Fatalf("delivery signed with both keys: %d", got)
			}
			if got := send(fmt.Sprintf("t=%d,v1=%s", now, sign(oldSecret, now, body2)), body2); got != http.StatusConflict {
				t.Errorf("rotation replay with the old key's value only: %d, want 409", got)
			}
			// The library's own signer agrees with this test's.
			if got := send(webhook.Sign([]byte(secret), time.Unix(now, 0), []byte(body2)), body2); got != http.StatusConflict {
				t.Errorf("replay signed by webhook.Sign: %d, want 409", got)
			}
		})
	}
}

func hmacOf(key, msg string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TestAttackA08TamperedCookies: the signed cookies the service reads
// (session token, remembered device, password reset) changed in one
// character open nothing and cause no error. To see it fail, accept the
// device cookie without checking its MAC (pages/signin.go).
func TestAttackA08TamperedCookies(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	b.register("cookies@example.com", "Cookies", goodPassword)
	b.submit("/account", "/logout", url.Values{})
	b.submit("/login", "/login", map[string][]string{"email": {"cookies@example.com"}, "password": {goodPassword}, "remember": {"1"}})
	if !b.signedIn() {
		t.Fatal("not signed in")
	}
	for _, name := range []string{"bulwark_session", "bulwark_device"} {
		v := b.cookie(name)
		if v == "" {
			t.Logf("no %s cookie to tamper with", name)
			continue
		}
		for _, changed := range []string{flipLast(v), v + "A", v[:len(v)/2], strings.Repeat("A", len(v)), "", "%00", "..%2f"} {
			c := s.browser(t)
			c.setCookie(name, changed)
			if name == "bulwark_session" && c.signedIn() {
				t.Errorf("%s changed to %.20q… is signed in", name, changed)
			}
			for _, path := range []string{"/", "/account", "/login"} {
				res := c.get(path)
				if res.StatusCode >= 500 {
					t.Errorf("%s changed, GET %s: %d", name, path, res.StatusCode)
				}
				checkNoLeak(t, name+" "+path, res.body)
			}
			res := c.submit("/login", "/login", map[string][]string{"email": {"cookies@example.com"}, "password": {"wrong wrong wrong wrong"}})
			// 401, or 429 once the account's budget for this network is
			// spent: a changed cookie buys no extra guesses.
			if res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusTooManyRequests {
				t.Errorf("%s changed, wrong password: %d", name, res.StatusCode)
			}
		}
	}
}

func flipLast(s string) string {
	if strings.HasSuffix(s, "A") {
		return s[:len(s)-1] + "B"
	}
	return s[:len(s)-1] + "A"
}
