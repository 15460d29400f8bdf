package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestBrowserPasskey drives Chromium with a virtual authenticator (CTAP2,
// internal transport, resident keys, user verification): register, add a
// passkey from the account page, sign out, sign in with the passkey from
// the login page. No page may raise a Content-Security-Policy violation or
// a script error, and the server must receive no CSP report.
func TestBrowserPasskey(t *testing.T) {
	browser := startChromium(t)
	s := startAppAtLocalhost(t, nil, nil)

	ctx, cancelTimeout := context.WithTimeout(browser.ctx, 90*time.Second)
	defer cancelTimeout()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("webauthn.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true,
		},
	}); err != nil {
		t.Fatalf("add virtual authenticator: %v", err)
	}

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v (page problems: %q)", what, err, browser.Problems())
		}
	}
	// waitFor polls until the page shows sel. The passkey steps end in a
	// navigation started by the script (location.assign), during which a
	// DOM query of chromedp can hit the old document's nodes; a fresh
	// querySelector each time cannot.
	waitFor := func(what, sel string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
				`(() => { const e = document.querySelector(`+"`"+sel+"`"+`); return !!e && !e.closest("[hidden]"); })()`))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s never shown (%v; page problems: %q)", what, sel, err, browser.Problems())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	do("register",
		chromedp.Navigate(s.URL+"/register"),
		chromedp.SendKeys(`input[name=email]`, "passkey@example.com"),
		chromedp.SendKeys(`input[name=name]`, "Passkey User"),
		chromedp.SendKeys(`input[name=password]`, "copper meadow lantern thistle"),
		chromedp.Click(`main button[type=submit]`),
	)
	waitFor("register", `#passkey-add`)
	do("add a passkey",
		chromedp.SendKeys(`input[name=passkey_name]`, "Virtual key"),
		chromedp.Click(`#passkey-add button`),
	)
	waitFor("add a passkey", `table.passkeys`)
	if body := text(`table.passkeys tbody`); !strings.Contains(body, "Virtual key") {
		t.Fatalf("the new passkey is not listed:\n%s", body)
	}
	do("sign out",
		chromedp.Click(`nav form button`),
		chromedp.WaitVisible(`a[href="/login"]`),
	)
	do("sign in with the passkey",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(`[data-passkey-login]`),
		chromedp.Click(`[data-passkey-login]`),
	)
	waitFor("sign in with the passkey", `#passkey-add`)
	if url, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(url, "/account") {
		t.Fatalf("after the passkey sign-in at %s", url)
	}
	if events := text(`ul.events`); !strings.Contains(events, "passkey_login") || !strings.Contains(events, "passkey_added") {
		t.Fatalf("the account page does not show the passkey events:\n%s", events)
	}
	if last := text(`table.passkeys tbody`); strings.Contains(last, "never") {
		t.Fatalf("the passkey's last use is not shown:\n%s", last)
	}

	if p := browser.Problems(); len(p) > 0 {
		t.Fatalf("CSP violations or script errors: %q", p)
	}
	if strings.Contains(s.logs.String(), "csp violation") {
		t.Fatalf("the server received CSP reports:\n%s", s.logs.String())
	}
}
