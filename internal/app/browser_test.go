package app

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserJourney drives Debian's Chromium through register, sign out,
// sign in and a password change, and checks that the other session ends and
// that no page raises a Content-Security-Policy violation.
func TestBrowserJourney(t *testing.T) {
	browser := startChromium(t)
	s := startApp(t, nil)
	ctx, cancelTimeout := context.WithTimeout(browser.ctx, 90*time.Second)
	defer cancelTimeout()

	const email, pw, newPW = "browser@example.com", "copper meadow lantern thistle", "harbor quartz violet pinecone"
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
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
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=name]`, "Browser User"),
		chromedp.SendKeys(`input[name=password]`, pw),
		chromedp.Click(`main button[type=submit]`),
		chromedp.WaitVisible(`input[name=current_password]`),
	)
	if url, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(url, "/account") {
		t.Fatalf("after register at %s", url)
	}
	do("sign out",
		chromedp.Click(`nav form button`),
		chromedp.WaitVisible(`a[href="/login"]`),
	)
	do("sign in",
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, pw),
		chromedp.Click(`main button[type=submit]`),
		chromedp.WaitVisible(`input[name=current_password]`),
	)

	// A second session of the same user, from another client.
	other := s.browser(t)
	if res := other.login(email, pw); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("second session: %d", res.StatusCode)
	}
	do("reload account", chromedp.Navigate(s.URL+"/account"), chromedp.WaitVisible(`table.sessions`))
	if body := text(`table.sessions tbody`); strings.Count(body, "Go-http-client") != 1 {
		t.Fatalf("the account page does not list the other session:\n%s", body)
	}
	do("change password",
		chromedp.SendKeys(`form[action="/account/password"] input[name=current_password]`, pw),
		chromedp.SendKeys(`form[action="/account/password"] input[name=new_password]`, newPW),
		chromedp.Click(`form[action="/account/password"] button`),
		chromedp.WaitVisible(`p.flash`),
	)
	if body := text(`table.sessions tbody`); strings.Contains(body, "Go-http-client") {
		t.Fatalf("the other session is still listed after the password change:\n%s", body)
	}
	if other.signedIn() {
		t.Fatal("the other session still works after the password change")
	}

	// A real PNG through the account page's form: listed, downloadable
	// with the browser's session, and deleted.
	pngPath := filepath.Join(t.TempDir(), "browser-photo.png")
	if err := os.WriteFile(pngPath, pngBytes(t), 0o600); err != nil {
		t.Fatal(err)
	}
	do("upload a file",
		chromedp.SetUploadFiles(`input[name=file]`, []string{pngPath}),
		chromedp.Click(`form[action="/files"] button`),
		chromedp.WaitVisible(`table.files`),
	)
	if body := text(`table.files tbody`); !strings.Contains(body, "browser-photo.png") || !strings.Contains(body, "image/png") {
		t.Fatalf("the uploaded file is not listed:\n%s", body)
	}
	attr, err := chromedp.Run(ctx, chromedp.AttributeValue(`table.files a`, "href"))
	href := attr.Value
	if err != nil || !strings.HasPrefix(href, "/files/") {
		t.Fatalf("download link %q: %v", href, err)
	}
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("`+href+`").then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != 200 {
		t.Fatalf("download in the browser: %d %v", status, err)
	}
	// The page already shows a flash (from the upload): wait for the
	// table to go, which only the page after the delete does.
	do("delete the file",
		chromedp.Click(`table.files form button`),
		chromedp.WaitNotPresent(`table.files`),
		chromedp.WaitVisible(`p.flash`),
	)
	if body := text(`main`); strings.Contains(body, "browser-photo.png") {
		t.Fatal("the deleted file is still listed")
	}

	if p := browser.Problems(); len(p) > 0 {
		t.Fatalf("CSP violations or script errors: %q", p)
	}
	if strings.Contains(s.logs.String(), "csp violation") {
		t.Fatalf("the server received CSP reports:\n%s", s.logs.String())
	}
}
