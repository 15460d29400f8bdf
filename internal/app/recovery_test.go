package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// publicBase is BASE_URL in these tests: the origin links in mail must
// name, whatever Host the request came with.
const publicBase = "https://bulwark.example"

var linkRE = regexp.MustCompile(`https://bulwark\.example(/[a-z/-]+)\?token=([A-Za-z0-9_-]{43})`)

// mailEnv is a service that sends mail to a real SMTP server (in process,
// over TCP) on a clock the test moves.
type mailEnv struct {
	*testServer
	mail *testenv.SMTPServer
	clk  *testClock
}

// forEachBackendMail runs f on every backend with mail on and env added.
func forEachBackendMail(t *testing.T, env map[string]string, f func(t *testing.T, e *mailEnv)) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			smtp := testenv.SMTP(t)
			all := be.env(t)
			all["SMTP_URL"] = smtp.URL()
			all["BASE_URL"] = publicBase
			all["MAIL_FROM"] = "bulwark@bulwark.example"
			for k, v := range env {
				all[k] = v
			}
			clk := newTestClock()
			s := startAppWith(t, all, func(d *Deps) { d.Now = clk.Now })
			f(t, &mailEnv{testServer: s, mail: smtp, clk: clk})
		})
	}
}

// link returns the path and query of the link in m, checking that it
// starts with BASE_URL.
func link(t *testing.T, m testenv.Mail) string {
	t.Helper()
	match := linkRE.FindStringSubmatch(m.Body)
	if match == nil {
		t.Fatalf("no %s link in the mail %q: %s", publicBase, m.Subject, m.Body)
	}
	return match[1] + "?token=" + match[2]
}

// user makes a verified account directly in the database.
func (e *mailEnv) user(t *testing.T, email, name string) *store.User {
	t.Helper()
	hash, err := e.deps.Hasher.Hash(context.Background(), goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	u := &store.User{Email: email, Name: name, PasswordHash: hash, EmailVerified: true}
	if err := e.deps.DB.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// blankCSRF removes what differs between two renderings of one page.
func blankCSRF(body string) string {
	body = tokenRE.ReplaceAllString(body, `name="csrf_token" value=""`)
	return regexp.MustCompile(`nonce="[^"]*"`).ReplaceAllString(body, `nonce=""`)
}

// Under mandatory verification, registration answers a free and a taken
// address with the same bytes, so it cannot be used to find out who has an
// account; the taken address's owner is told, and the new account signs in
// by the mailed link. Remove the registerMandatory branch in register
// (pages/auth.go) to see this fail.
func TestMandatoryRegistrationRevealsNothing(t *testing.T) {
	forEachBackendMail(t, map[string]string{"EMAIL_VERIFICATION": "mandatory"}, func(t *testing.T, e *mailEnv) {
		e.user(t, "taken@example.com", "Taken")
		free, taken := e.browser(t), e.browser(t)
		form := func(email string) url.Values {
			return url.Values{"email": {email}, "name": {"Someone"}, "password": {"another long passphrase here"}}
		}
		resFree := free.submit("/register", "/register", form("free@example.com"))
		resTaken := taken.submit("/register", "/register", form("taken@example.com"))
		if resFree.StatusCode != http.StatusOK || resTaken.StatusCode != http.StatusOK {
			t.Fatalf("status free %d, taken %d", resFree.StatusCode, resTaken.StatusCode)
		}
		if blankCSRF(resFree.body) != blankCSRF(resTaken.body) {
			t.Fatalf("pages differ:\nfree:  %s\ntaken: %s", resFree.body, resTaken.body)
		}
		if !strings.Contains(resFree.body, "Check your inbox") {
			t.Fatalf("page: %s", resFree.body)
		}
		notice := e.mail.Wait(t, "taken@example.com", 0)
		if strings.Contains(notice.Body, "token=") || !strings.Contains(notice.Subject, "sign up") {
			t.Fatalf("notice to the owner: %q %s", notice.Subject, notice.Body)
		}
		if free.signedIn() {
			t.Fatal("signed in before following the link")
		}
		first := e.mail.Wait(t, "free@example.com", 0)
		// The password alone does not sign an unconfirmed account in; it
		// sends a new link, which replaces the first.
		n := len(e.mail.Mails())
		if res := free.login("free@example.com", "another long passphrase here"); res.StatusCode != http.StatusOK || free.signedIn() {
			t.Fatalf("password sign-in of an unconfirmed account: %d", res.StatusCode)
		}
		m := e.mail.Wait(t, "free@example.com", n)
		if res := e.browser(t).get(link(t, first)); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("the replaced link: %d", res.StatusCode)
		}
		before := free.cookie("bulwark_session")
		res := free.get(link(t, m))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("verification link: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if after := free.cookie("bulwark_session"); after == "" || after == before {
			t.Fatal("the link did not start a new session")
		}
		page := free.get("/account").body
		if !strings.Contains(page, `class="badge verified"`) || !strings.Contains(page, "email_verified") {
			t.Fatalf("account page after verification: %.2000s", page)
		}
		// A link works once.
		if res := e.browser(t).get(link(t, m)); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("second use of the link: %d", res.StatusCode)
		}
	})
}

// With optional verification the account is signed in at once but stays
// unverified, and cannot make API keys, until the link is followed. Remove
// the EmailVerified check in createAPIKey (pages/apikeys.go) to see this
// fail.
func TestOptionalVerification(t *testing.T) {
	forEachBackendMail(t, map[string]string{"EMAIL_VERIFICATION": "optional"}, func(t *testing.T, e *mailEnv) {
		b := e.browser(t)
		b.register("opt@example.com", "Opt", goodPassword)
		if !b.signedIn() {
			t.Fatal("not signed in after registering")
		}
		page := b.get("/account").body
		if !strings.Contains(page, `class="badge unverified"`) {
			t.Fatal("the account page does not say unverified")
		}
		keyForm := url.Values{"name": {"deploy"}, "scope": {"files:read"}, "expires_days": {"30"}}
		res := b.submit("/account", "/account/apikeys", keyForm)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(res.body, "Confirm your email address") || strings.Contains(res.body, "bwk_") {
			t.Fatalf("API key for an unverified account: %d %.300s", res.StatusCode, res.body)
		}
		m := e.mail.Wait(t, "opt@example.com", 0)
		if res := b.get(link(t, m)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("verification link: %d", res.StatusCode)
		}
		if !strings.Contains(b.get("/account").body, `class="badge verified"`) {
			t.Fatal("still unverified")
		}
		keyForm.Set("name", "deploy2")
		if res := b.submit("/account", "/account/apikeys", keyForm); res.StatusCode != http.StatusOK || !strings.Contains(res.body, "bwk_") {
			t.Fatalf("API key after verification: %d", res.StatusCode)
		}
	})
}

// requestReset asks for a reset of email from a fresh browser and returns
// the page.
func (e *mailEnv) requestReset(t *testing.T, email string) response {
	t.Helper()
	res := e.browser(t).submit("/password/forgot", "/password/forgot", url.Values{"email": {email}})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("forgot %s: %d %.300s", email, res.StatusCode, res.body)
	}
	return res
}

// resetLink asks for a reset of email and returns the mailed link.
func (e *mailEnv) resetLink(t *testing.T, email string) string {
	t.Helper()
	n := len(e.mail.Mails())
	e.requestReset(t, email)
	return link(t, e.mail.Wait(t, email, n))
}

// followReset follows a reset link in b and submits a new password; it
// returns the status of the form page and of the submission.
func followReset(t *testing.T, b *browser, link, pw string) (int, response) {
	t.Helper()
	res := b.get(link)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/password/reset" ||
		res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("reset link: %d %q referrer %q", res.StatusCode, res.Header.Get("Location"), res.Header.Get("Referrer-Policy"))
	}
	form := b.get("/password/reset")
	if form.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("the reset page sends Referrer-Policy %q", form.Header.Get("Referrer-Policy"))
	}
	if form.StatusCode != http.StatusOK {
		return form.StatusCode, form
	}
	return form.StatusCode, b.submit("/password/reset", "/password/reset", url.Values{"new_password": {pw}})
}

const newPassword = "a different passphrase entirely"

func TestPasswordReset(t *testing.T) {
	// evil.example is served (as with ALLOWED_HOSTS=* or a sloppy proxy),
	// so the Host-header test reaches the handler.
	forEachBackendMail(t, map[string]string{"ALLOWED_HOSTS": "127.0.0.1,evil.example"}, func(t *testing.T, e *mailEnv) {
		// The same page for an address with and without an account; the
		// lookup and the mail happen after the answer. Remove the
		// p.background call in forgot (pages/recovery.go) and answer
		// differently to see this fail.
		t.Run("unknown and known look the same", func(t *testing.T) {
			e.user(t, "known@example.com", "Known")
			n := len(e.mail.Mails())
			known := e.requestReset(t, "known@example.com")
			unknown := e.requestReset(t, "nobody@example.com")
			if blankCSRF(known.body) != blankCSRF(unknown.body) {
				t.Fatalf("pages differ:\nknown:   %s\nunknown: %s", known.body, unknown.body)
			}
			e.mail.Wait(t, "known@example.com", n)
			for _, m := range e.mail.Mails() {
				if m.To[0] == "nobody@example.com" {
					t.Fatal("mail sent to an address without an account")
				}
			}
		})

		// Host-header poisoning: the link names BASE_URL even when the
		// request says Host: evil.example. Build the link from r.Host in
		// Pages.link to see this fail.
		t.Run("link uses BASE_URL", func(t *testing.T) {
			e.user(t, "host@example.com", "Host")
			b := e.browser(t)
			// The whole visit says Host: evil.example (CSRF tokens are
			// bound to the host they were issued for).
			get, _ := http.NewRequest("GET", e.URL+"/password/forgot", nil)
			get.Host = "evil.example"
			tok := tokenRE.FindStringSubmatch(b.do(get).body)
			if tok == nil {
				t.Fatal("no form")
			}
			form := url.Values{"email": {"host@example.com"}, "csrf_token": {tok[1]}}
			req, _ := http.NewRequest("POST", e.URL+"/password/forgot", strings.NewReader(form.Encode()))
			req.Host = "evil.example"
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if res := b.do(req); res.StatusCode != http.StatusOK {
				t.Fatalf("forgot with Host evil.example: %d %.300s", res.StatusCode, res.body)
			}
			m := e.mail.Wait(t, "host@example.com", 0)
			if strings.Contains(m.Body, "evil.example") || !strings.Contains(m.Body, publicBase+"/password/reset?token=") {
				t.Fatalf("mail body: %s", m.Body)
			}
		})

		t.Run("reset ends every session and works once", func(t *testing.T) {
			e.user(t, "reset@example.com", "Reset")
			old := e.browser(t)
			if res := old.login("reset@example.com", goodPassword); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %d", res.StatusCode)
			}
			l := e.resetLink(t, "reset@example.com")
			b := e.browser(t)
			n := len(e.mail.Mails())
			status, res := followReset(t, b, l, newPassword)
			if status != http.StatusOK || res.StatusCode != http.StatusOK || !strings.Contains(res.body, "Password changed") {
				t.Fatalf("reset: form %d, submit %d %.300s", status, res.StatusCode, res.body)
			}
			if b.cookie("bulwark_reset") != "" {
				t.Error("the reset cookie outlives the reset")
			}
			// The old session was signed in before the reset: it ends.
			// Remove the credential_version bump in store.ResetPassword to
			// see this fail.
			if old.signedIn() {
				t.Fatal("a session from before the reset is still signed in")
			}
			if res := e.browser(t).login("reset@example.com", newPassword); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("login with the new password: %d", res.StatusCode)
			}
			notice := e.mail.Wait(t, "reset@example.com", n)
			if !strings.Contains(notice.Subject, "password was changed") {
				t.Fatalf("no notice after the reset: %q", notice.Subject)
			}
			// Used twice: refused.
			if status, _ := followReset(t, e.browser(t), l, "yet another long passphrase"); status != http.StatusBadRequest {
				t.Fatalf("second use of the link: %d", status)
			}
			page := e.browser(t)
			page.login("reset@example.com", newPassword)
			body := page.get("/account").body
			for _, ev := range []string{"password_reset_requested", "password_reset"} {
				if !strings.Contains(body, ev) {
					t.Errorf("the account page does not list %s", ev)
				}
			}
		})

		t.Run("a newer link replaces the older", func(t *testing.T) {
			e.user(t, "twice@example.com", "Twice")
			first := e.resetLink(t, "twice@example.com")
			second := e.resetLink(t, "twice@example.com")
			if status, _ := followReset(t, e.browser(t), first, newPassword); status != http.StatusBadRequest {
				t.Fatalf("the older link: %d", status)
			}
			if status, res := followReset(t, e.browser(t), second, newPassword); status != http.StatusOK || res.StatusCode != http.StatusOK {
				t.Fatalf("the newer link: %d %d", status, res.StatusCode)
			}
		})

		t.Run("expires after 30 minutes", func(t *testing.T) {
			e.user(t, "late@example.com", "Late")
			l := e.resetLink(t, "late@example.com")
			e.clk.Add(31 * time.Minute)
			if status, _ := followReset(t, e.browser(t), l, newPassword); status != http.StatusBadRequest {
				t.Fatalf("a 31-minute-old link: %d", status)
			}
		})

		// A form fetched while the link was live, submitted after it died,
		// is refused too.
		t.Run("expires between form and submission", func(t *testing.T) {
			e.user(t, "slow@example.com", "Slow")
			l := e.resetLink(t, "slow@example.com")
			b := e.browser(t)
			b.get(l)
			tok := b.token("/password/reset")
			e.clk.Add(31 * time.Minute)
			res := b.post("/password/reset", url.Values{"new_password": {newPassword}, "csrf_token": {tok}})
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("submission after expiry: %d", res.StatusCode)
			}
			if res := e.browser(t).login("slow@example.com", newPassword); res.StatusCode == http.StatusSeeOther {
				t.Fatal("the password changed")
			}
		})

		// Remove the DeleteTokens call in startSession (pages/auth.go) to
		// see this fail.
		t.Run("sign-in cancels the link", func(t *testing.T) {
			e.user(t, "remembered@example.com", "Remembered")
			l := e.resetLink(t, "remembered@example.com")
			if res := e.browser(t).login("remembered@example.com", goodPassword); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %d", res.StatusCode)
			}
			if status, _ := followReset(t, e.browser(t), l, newPassword); status != http.StatusBadRequest {
				t.Fatalf("link after a sign-in: %d", status)
			}
		})

		// The token carries the credential version it was issued under.
		t.Run("password change cancels the link", func(t *testing.T) {
			e.user(t, "changer@example.com", "Changer")
			b := e.browser(t)
			b.login("changer@example.com", goodPassword)
			l := e.resetLink(t, "changer@example.com")
			res := b.submit("/account", "/account/password", url.Values{"current_password": {goodPassword}, "new_password": {newPassword}})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("password change: %d", res.StatusCode)
			}
			if status, _ := followReset(t, e.browser(t), l, "yet another long passphrase"); status != http.StatusBadRequest {
				t.Fatalf("link after a password change: %d", status)
			}
		})

		t.Run("weak new password refused", func(t *testing.T) {
			e.user(t, "weak@example.com", "Weak")
			_, res := followReset(t, e.browser(t), e.resetLink(t, "weak@example.com"), "short")
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("weak password: %d", res.StatusCode)
			}
		})

		t.Run("login page links to it", func(t *testing.T) {
			if !strings.Contains(e.browser(t).get("/login").body, `href="/password/forgot"`) {
				t.Fatal("no Forgot password? link on the login page")
			}
		})
	})
}

// A changed address takes effect only when the link mailed to it is
// followed, needs the password, and the old address is told. Remove the
// checkPassword call in changeEmail (pages/recovery.go) to see the first
// check fail.
func TestEmailChange(t *testing.T) {
	forEachBackendMail(t, map[string]string{"EMAIL_VERIFICATION": "optional"}, func(t *testing.T, e *mailEnv) {
		e.user(t, "old@example.com", "Mover")
		b := e.browser(t)
		b.login("old@example.com", goodPassword)
		res := b.submit("/account", "/account/email", url.Values{"email": {"new@example.com"}, "current_password": {"wrong password here"}})
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("change without the password: %d", res.StatusCode)
		}
		res = b.submit("/account", "/account/email", url.Values{"email": {"new@example.com"}, "current_password": {goodPassword}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("change: %d %.300s", res.StatusCode, res.body)
		}
		notice := e.mail.Wait(t, "old@example.com", 0)
		if !strings.Contains(notice.Body, "new@example.com") || strings.Contains(notice.Body, "token=") {
			t.Fatalf("notice to the old address: %s", notice.Body)
		}
		m := e.mail.Wait(t, "new@example.com", 0)
		if page := b.get("/account").body; !strings.Contains(page, "Email: old@example.com") {
			t.Fatal("the address changed before the link was followed")
		}
		if res := b.get(link(t, m)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("change link: %d", res.StatusCode)
		}
		page := b.get("/account").body
		if !strings.Contains(page, "Email: new@example.com") || !strings.Contains(page, "email_changed") || !strings.Contains(page, "email_change_requested") {
			t.Fatalf("account page after the change: %.3000s", page)
		}
		if res := e.browser(t).login("new@example.com", goodPassword); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login with the new address: %d", res.StatusCode)
		}
		// A taken address: the same answer, its owner told, nothing changes.
		e.user(t, "other@example.com", "Other")
		res = b.submit("/account", "/account/email", url.Values{"email": {"other@example.com"}, "current_password": {goodPassword}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("change to a taken address: %d", res.StatusCode)
		}
		if m := e.mail.Wait(t, "other@example.com", 0); strings.Contains(m.Body, "token=") {
			t.Fatal("a change link was mailed to another account's address")
		}
	})
}

// Tokens never reach the log when mail is sent by SMTP: a log line is read
// by more people than a mailbox. Log the message body in Pages.mailTo or
// mailer.Queue to see this fail.
func TestMailedTokensNotLogged(t *testing.T) {
	forEachBackendMail(t, map[string]string{"EMAIL_VERIFICATION": "optional"}, func(t *testing.T, e *mailEnv) {
		b := e.browser(t)
		b.register("quiet@example.com", "Quiet", goodPassword)
		verify := linkRE.FindStringSubmatch(e.mail.Wait(t, "quiet@example.com", 0).Body)[2]
		n := len(e.mail.Mails())
		e.requestReset(t, "quiet@example.com")
		e.mail.Wait(t, "quiet@example.com", n)
		logs := e.logs.String()
		if strings.Contains(logs, verify) {
			t.Fatal("a verification token is in the log")
		}
		for _, m := range e.mail.Mails() {
			if match := linkRE.FindStringSubmatch(m.Body); match != nil && strings.Contains(logs, match[2]) {
				t.Fatalf("the token of %q is in the log", m.Subject)
			}
		}
	})
}

// In development without SMTP_URL each mail goes to the log, link
// included, so a developer can follow it; in production without it,
// password reset says it is off.
func TestMailWithoutSMTP(t *testing.T) {
	s := startApp(t, map[string]string{"EMAIL_VERIFICATION": "optional"})
	s.browser(t).register("dev@example.com", "Dev", goodPassword)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.logs.String(), "/verify-email?token=") {
		if time.Now().After(deadline) {
			t.Fatalf("no link in the development log:\n%s", s.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	cfg := testConfig(t, map[string]string{"BULWARK_ENV": "production", "ALLOWED_HOSTS": "127.0.0.1",
		"BASE_URL": "https://bulwark.example", "TRUSTED_PROXIES": "127.0.0.1"})
	if err := os.Chmod(cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := Open(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Mail != nil {
		t.Fatal("a mail queue in production without SMTP_URL")
	}
	h, err := NewHandler(d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/password/forgot", nil)
	req.Header.Set("X-Forwarded-Proto", "https") // from the trusted proxy
	if res := (&testServer{Server: srv, deps: d}).browser(t).do(req); !strings.Contains(res.body, "not available") {
		t.Fatalf("forgot page in production without mail: %d %.300s", res.StatusCode, res.body)
	}
}
