package app

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/totp"
)

// offsetClock is the wall clock moved forward by an offset the test
// chooses. The journey runs in real time (cookies, sessions and the mail
// queue see the real clock) and jumps one TOTP step ahead where a real
// user would have waited for the app to show a new code.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// TestJourneyInBrowser is the whole account-recovery journey in one
// Chromium tab, with mail through a real SMTP server: register, confirm
// the address by the mailed link, turn on TOTP from the account page,
// sign out, forget the password, reset it by the mailed link, see the old
// password refused, and sign in with the new one and a fresh code. No page
// may raise a Content-Security-Policy violation, and the server must
// receive no CSP report.
func TestJourneyInBrowser(t *testing.T) {
	browser := startChromium(t)
	smtp := testenv.SMTP(t)
	clk := &offsetClock{}
	s := startAppAtLocalhost(t, map[string]string{
		"SMTP_URL":           smtp.URL(),
		"MAIL_FROM":          "bulwark@bulwark.example",
		"EMAIL_VERIFICATION": "optional",
	}, func(d *Deps) { d.Now = clk.Now })
	linkIn := regexp.MustCompile(regexp.QuoteMeta(s.URL) + `/[a-z/-]+\?token=[A-Za-z0-9_-]+`)
	mailedLink := func(m testenv.Mail) string {
		t.Helper()
		l := linkIn.FindString(m.Body)
		if l == "" {
			t.Fatalf("no link to %s in the mail %q:\n%s", s.URL, m.Subject, m.Body)
		}
		return l
	}

	// The whole journey takes a few seconds; the bound keeps a hung
	// browser from holding the suite, and each step has its own so a
	// failing one says so quickly.
	ctx, cancelTimeout := context.WithTimeout(browser.ctx, 60*time.Second)
	defer cancelTimeout()

	const email, oldPW, newPW = "journey@example.com", "juniper cobalt orchard lighthouse", "saffron glacier trellis mosaic"
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		stepCtx, cancelStep := context.WithTimeout(ctx, 15*time.Second)
		defer cancelStep()
		if err := chromedp.Do(stepCtx, steps...); err != nil {
			// Say where the browser got stuck: a time-out alone does not.
			peek, cancel := context.WithTimeout(browser.ctx, 5*time.Second)
			defer cancel()
			loc, _ := chromedp.Run(peek, chromedp.Location())
			main, _ := chromedp.Run(peek, chromedp.Text(`main`))
			t.Fatalf("%s: %v\nat %s:\n%.1000s", what, err, loc, main)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(v)
	}
	path := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("location: %v", err)
		}
		return strings.TrimPrefix(loc, s.URL)
	}

	// Register: signed in at once, the address not yet confirmed.
	do("register",
		chromedp.Navigate(s.URL+"/register"),
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=name]`, "Journey User"),
		chromedp.SendKeys(`input[name=password]`, oldPW),
		chromedp.Click(`main button[type=submit]`),
		chromedp.WaitVisible(`span.badge.unverified`),
	)
	if p := path(); p != "/account" {
		t.Fatalf("after register at %s", p)
	}

	// Confirm the address by the link in the mail.
	verify := smtp.Wait(t, email, 0)
	if verify.Subject != "Confirm your email address" {
		t.Fatalf("first mail: %q", verify.Subject)
	}
	do("follow the verification link",
		chromedp.Navigate(mailedLink(verify)),
		chromedp.WaitVisible(`span.badge.verified`),
	)
	if p := path(); p != "/account" {
		t.Fatalf("after the verification link at %s", p)
	}

	// Turn on TOTP: the key as text beside the QR code, a code from it,
	// and the recovery codes shown once.
	do("start TOTP set-up",
		chromedp.Click(`form[action="/account/2fa/totp"] button`),
		chromedp.WaitVisible(`#totp-secret`),
	)
	secret := text(`#totp-secret`)
	// The QR code is an image from this origin, which img-src 'self'
	// allows: it must have loaded.
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`(async () => { const i = document.querySelector('img[src="/account/2fa/totp/qr.png"]'); await i.decode(); return i.naturalWidth > 0; })()`,
		chromedp.EvalAwaitPromise))
	if err != nil || !loaded {
		t.Fatalf("QR code not shown: %v", err)
	}
	code, err := totp.GenerateCode(secret, clk.Now())
	if err != nil {
		t.Fatalf("code from the key %q: %v", secret, err)
	}
	do("confirm TOTP",
		chromedp.SendKeys(`form[action="/account/2fa/totp/confirm"] input[name=code]`, code),
		chromedp.Click(`form[action="/account/2fa/totp/confirm"] button`),
		chromedp.WaitVisible(`#recovery-codes`),
	)
	codes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('#recovery-codes code')].map(c => c.textContent)`))
	if err != nil || len(codes) != 10 {
		t.Fatalf("recovery codes: %q %v", codes, err)
	}
	if strings.Contains(text(`main`), secret) {
		t.Fatal("the key is still shown after confirmation")
	}

	// Sign out, then forget the password.
	do("sign out",
		chromedp.Click(`nav form button`),
		chromedp.WaitVisible(`nav a[href="/login"]`),
	)
	n := len(smtp.Mails())
	do("ask for a reset",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.Click(`main a[href="/password/forgot"]`),
		chromedp.WaitVisible(`form[action="/password/forgot"]`),
		chromedp.SendKeys(`form[action="/password/forgot"] input[name=email]`, email),
		chromedp.Click(`form[action="/password/forgot"] button`),
		chromedp.WaitNotPresent(`form[action="/password/forgot"]`),
	)
	if h := text(`main h1`); h != "Check your inbox" {
		t.Fatalf("after asking for a reset: %q", h)
	}
	reset := smtp.Wait(t, email, n)
	if reset.Subject != "Choose a new password" {
		t.Fatalf("reset mail: %q", reset.Subject)
	}

	// The link: the token leaves the address bar at once; set the new
	// password.
	n = len(smtp.Mails())
	do("follow the reset link",
		chromedp.Navigate(mailedLink(reset)),
		chromedp.WaitVisible(`form[action="/password/reset"]`),
	)
	if p := path(); p != "/password/reset" {
		t.Fatalf("the reset form is at %s, want the token out of the address", p)
	}
	do("set the new password",
		chromedp.SendKeys(`input[name=new_password]`, newPW),
		chromedp.Click(`form[action="/password/reset"] button`),
		chromedp.WaitNotPresent(`form[action="/password/reset"]`),
	)
	if h := text(`main h1`); h != "Password changed" {
		t.Fatalf("after the reset: %q %q", h, text(`main`))
	}
	if m := smtp.Wait(t, email, n); m.Subject != "Your password was changed" {
		t.Fatalf("notice after the reset: %q", m.Subject)
	}

	// The old password is refused, with the generic message and no second
	// step.
	do("sign in with the old password",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, oldPW),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`main > p.error`), // not the passkey form's hidden one
	)
	if p, msg := path(), text(`main > p.error`); p != "/login" || msg != "The email or password is not right." {
		t.Fatalf("the old password led to %s: %q", p, msg)
	}

	// The new password, then the second step. The confirmation used the
	// code of this 30-second step, and a code is accepted once: move the
	// clock to the next step, as the app would show a new code there.
	do("sign in with the new password",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, newPW),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`form[action="/login/2fa"]`),
	)
	if p := path(); p != "/login/2fa" {
		t.Fatalf("the second step is at %s", p)
	}
	clk.Add(totp.Period)
	code, err = totp.GenerateCode(secret, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	do("enter the code",
		chromedp.SendKeys(`form[action="/login/2fa"] input[name=code]`, code),
		chromedp.Click(`form[action="/login/2fa"] button`),
		chromedp.WaitVisible(`input[name=current_password]`),
	)
	if p := path(); p != "/account" {
		t.Fatalf("after the second step at %s", p)
	}
	if two := text(`#two-step`); !strings.Contains(two, "On:") || !strings.Contains(two, "10 unused recovery codes") {
		t.Fatalf("two-step section after sign-in:\n%s", two)
	}

	if p := browser.Problems(); len(p) > 0 {
		t.Fatalf("CSP violations or script errors: %q", p)
	}
	if strings.Contains(s.logs.String(), "csp violation") {
		t.Fatalf("the server received CSP reports:\n%s", s.logs.String())
	}
}
