package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Each test here runs the same cases on every backend.
func forEachBackend(t *testing.T, f func(t *testing.T, s *testServer)) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			f(t, startApp(t, be.env(t)))
		})
	}
}

func TestRegisterLoginLogout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		b := s.browser(t)
		b.register("ada@example.com", "Ada", goodPassword)
		if !b.signedIn() {
			t.Fatal("not signed in after registering")
		}
		res := b.submit("/account", "/logout", url.Values{})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Fatalf("logout: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if b.signedIn() {
			t.Fatal("still signed in after logout")
		}
		res = b.login("ADA@example.com ", goodPassword)
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
			t.Fatalf("login: %d %q %.200s", res.StatusCode, res.Header.Get("Location"), res.body)
		}
		if !b.signedIn() {
			t.Fatal("not signed in after login")
		}
	})
}

func TestCSRF(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		victim := s.browser(t)
		victim.register("victim@example.com", "Victim", goodPassword)
		tok := victim.token("/account")

		for _, path := range []string{"/login", "/register", "/account/password", "/account/profile"} {
			form := url.Values{"csrf_token": {tok}, "email": {"x@example.com"}, "password": {"x"},
				"current_password": {goodPassword}, "new_password": {"attacker chosen password here"}, "name": {"Mallory"}}
			// A forged cross-site POST, even with a token the attacker somehow has.
			if res := victim.post(path, form, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); res.StatusCode != http.StatusForbidden {
				t.Errorf("cross-site POST %s: status %d, want 403", path, res.StatusCode)
			}
			// An older browser: no Sec-Fetch-Site, Origin of another site.
			if res := victim.post(path, form, "Sec-Fetch-Site", "", "Origin", "https://evil.example"); res.StatusCode != http.StatusForbidden {
				t.Errorf("foreign-Origin POST %s: status %d, want 403", path, res.StatusCode)
			}
			// Same origin but no token.
			noTok := url.Values{}
			for k, v := range form {
				if k != "csrf_token" {
					noTok[k] = v
				}
			}
			if res := victim.post(path, noTok); res.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s without token: status %d, want 403", path, res.StatusCode)
			}
		}
		if !strings.Contains(victim.post("/account/profile", url.Values{"name": {"M"}}).body, "another site") {
			t.Error("the 403 page does not say what happened")
		}

		// A token from another session.
		other := s.browser(t)
		otherTok := other.token("/login")
		if res := victim.post("/account/profile", url.Values{"csrf_token": {otherTok}, "name": {"Mallory"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("token of another session: status %d, want 403", res.StatusCode)
		}

		// Two renders give different strings that both verify.
		t1, t2 := victim.token("/account"), victim.token("/account")
		if t1 == t2 {
			t.Error("two renders gave the same token (no BREACH mask)")
		}
		for _, tk := range []string{t1, t2} {
			if res := victim.post("/account/profile", url.Values{"csrf_token": {tk}, "name": {"Victim"}, "bio": {"hi"}}); res.StatusCode != http.StatusSeeOther {
				t.Errorf("form posted from the page: status %d, want 303", res.StatusCode)
			}
		}
		// The header form works for fetch().
		if res := victim.post("/account/profile", url.Values{"name": {"Victim"}}, "X-CSRFToken", victim.token("/account")); res.StatusCode != http.StatusSeeOther {
			t.Errorf("X-CSRFToken header: status %d, want 303", res.StatusCode)
		}

		// A token after logout is refused.
		old := victim.token("/account")
		victim.submit("/account", "/logout", url.Values{})
		if res := victim.post("/login", url.Values{"csrf_token": {old}, "email": {"victim@example.com"}, "password": {goodPassword}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("token from before logout: status %d, want 403", res.StatusCode)
		}
	})
}

func TestSessionFixation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		name := "bulwark_session"
		// Anonymous visitors get no session, so the attacker plants a
		// token it holds: that of its own signed-in session.
		attacker := s.browser(t)
		attacker.register("mallory@example.com", "Mallory", goodPassword)
		fixed := attacker.cookie(name)
		if fixed == "" {
			t.Fatal("no session cookie after registering")
		}
		owner := s.browser(t)
		owner.register("fix@example.com", "Fix", goodPassword)
		owner.submit("/account", "/logout", url.Values{})

		victim := s.browser(t)
		victim.setCookie(name, fixed)
		res := victim.login("fix@example.com", goodPassword)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login with a planted cookie: %d", res.StatusCode)
		}
		if got := victim.cookie(name); got == fixed || got == "" {
			t.Fatal("the session token was not renewed at login")
		}
		if strings.Contains(attacker.get("/account").body, "fix@example.com") {
			t.Fatal("the planted token gives the attacker the victim's session")
		}

		// After logout, the old cookie is refused.
		stolen := victim.cookie(name)
		victim.submit("/account", "/logout", url.Values{})
		thief := s.browser(t)
		thief.setCookie(name, stolen)
		if thief.signedIn() {
			t.Fatal("a cookie replayed after logout is still signed in")
		}
	})
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		a := s.browser(t)
		a.register("pc@example.com", "PC", goodPassword)
		b := s.browser(t)
		if res := b.login("pc@example.com", goodPassword); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("second login: %d", res.StatusCode)
		}
		if !strings.Contains(a.get("/account").body, "Sign out</button></form></td>") {
			t.Fatal("the account page does not list the other session with a revoke button")
		}
		before := a.cookie("bulwark_session")
		newPW := "granite lantern meadow falcon"
		res := a.submit("/account", "/account/password", url.Values{"current_password": {goodPassword}, "new_password": {newPW}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("password change: %d %.300s", res.StatusCode, res.body)
		}
		if a.cookie("bulwark_session") == before {
			t.Error("the session token was not renewed at password change")
		}
		if !a.signedIn() {
			t.Error("the browser that changed the password was signed out")
		}
		if b.signedIn() {
			t.Error("the other session survived the password change")
		}
		if res := b.login("pc@example.com", goodPassword); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("old password still works: %d", res.StatusCode)
		}
		if res := b.login("pc@example.com", newPW); res.StatusCode != http.StatusSeeOther {
			t.Errorf("new password refused: %d", res.StatusCode)
		}
	})
}

func TestRevokeOneSession(t *testing.T) {
	s := startApp(t, nil)
	a, b := s.browser(t), s.browser(t)
	a.register("rv@example.com", "RV", goodPassword)
	b.login("rv@example.com", goodPassword)
	m := regexp.MustCompile(`action="/account/sessions/([0-9a-f]+)/revoke"`).FindStringSubmatch(a.get("/account").body)
	if m == nil {
		t.Fatal("no revoke form")
	}
	if res := a.submit("/account", "/account/sessions/"+m[1]+"/revoke", url.Values{}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if b.signedIn() {
		t.Fatal("revoked session still signed in")
	}
	if !a.signedIn() {
		t.Fatal("revoking another session signed this one out")
	}
	// Another user cannot revoke it by id.
	c := s.browser(t)
	c.register("other@example.com", "Other", goodPassword)
	b.login("rv@example.com", goodPassword)
	m = regexp.MustCompile(`action="/account/sessions/([0-9a-f]+)/revoke"`).FindStringSubmatch(a.get("/account").body)
	if res := c.submit("/account", "/account/sessions/"+m[1]+"/revoke", url.Values{}); res.StatusCode != http.StatusNotFound {
		t.Fatalf("revoking another user's session: %d, want 404", res.StatusCode)
	}
	if !b.signedIn() {
		t.Fatal("another user revoked this session")
	}
}

// maskVarying removes what legitimately differs between two renders.
var maskVarying = regexp.MustCompile(`(csrf_token" value="|csrf-token" content="|nonce="|nonce-)[^"']+`)

func TestUnknownEmailAndWrongPasswordLookTheSame(t *testing.T) {
	s := startApp(t, nil)
	s.browser(t).register("known@example.com", "Known", goodPassword)
	b := s.browser(t)
	b.get("/login")
	unknown := b.login("nobody@example.com", "some wrong password")
	wrong := b.login("known@example.com", "some wrong password")
	if unknown.StatusCode != http.StatusUnauthorized || wrong.StatusCode != unknown.StatusCode {
		t.Fatalf("statuses differ or are not 401: unknown %d, wrong %d", unknown.StatusCode, wrong.StatusCode)
	}
	if maskVarying.ReplaceAllString(unknown.body, "") != maskVarying.ReplaceAllString(strings.ReplaceAll(wrong.body, "known@", "nobody@"), "") {
		t.Fatalf("bodies differ beyond the CSRF mask and the nonce:\n%s\n----\n%s", maskVarying.ReplaceAllString(unknown.body, ""), maskVarying.ReplaceAllString(strings.ReplaceAll(wrong.body, "known@", "nobody@"), ""))
	}
	for k := range unknown.Header {
		switch k {
		case "Date", "Content-Security-Policy", "X-Request-Id", "Content-Length", "Set-Cookie", "Ratelimit":
			continue
		}
		if unknown.Header.Get(k) != wrong.Header.Get(k) {
			t.Errorf("header %s differs: %q vs %q", k, unknown.Header.Get(k), wrong.Header.Get(k))
		}
	}
	if len(unknown.Header) != len(wrong.Header) {
		t.Errorf("header sets differ: %v vs %v", unknown.Header, wrong.Header)
	}
	if !strings.Contains(unknown.body, "The email or password is not right.") {
		t.Error("no generic failure message")
	}
}

func TestNextIsLocalOnly(t *testing.T) {
	s := startApp(t, nil)
	s.browser(t).register("nx@example.com", "NX", goodPassword)
	for next, want := range map[string]string{
		"/search?q=a":          "/search?q=a",
		"//evil.example":       "/account",
		"/\\evil.example":      "/account",
		"https://evil.example": "/account",
		"javascript:alert(1)":  "/account",
		"/\t/evil.example":     "/account",
		"":                     "/account",
	} {
		b := s.browser(t)
		res := b.submit("/login", "/login", url.Values{"email": {"nx@example.com"}, "password": {goodPassword}, "next": {next}})
		if got := res.Header.Get("Location"); got != want {
			t.Errorf("next=%q: redirected to %q, want %q", next, got, want)
		}
	}
}

func TestLegacyHashUpgradedAtLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		ctx := context.Background()
		// Real hashes of "secure_password" made by Werkzeug and python bcrypt
		// (../shared/vectors), as a Flask app's users table holds them.
		lines := `{"email":"werkzeug@example.com","name":"Werkzeug","bio":"from Flask","password_hash":"scrypt:16384:8:1$ioVKE4yIFlfFNAYK$19e2fdd21ba7bff648de67ffca64d58cbe32bca88238d243486952938355d6d61b541b60b877d50cd18dfb4a863e4700cef9776afce09747f6f5d9d4d852e2ff"}
{"email":"bcrypt@example.com","name":"Bcrypt","password_hash":"$2b$10$MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm"}
{"email":"bad@example.com","name":"Bad","password_hash":"md5$nope$abc"}
{"email":"WERKZEUG@example.com","name":"Dup","password_hash":"pbkdf2:sha1:1000$xw7xTQef334dn9dB$b16b1fba163806a10645438830b9abeaeb8611f0"}
not json
`
		res, err := ImportUsers(ctx, s.deps.Config, strings.NewReader(lines))
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 2 || res.Skipped != 1 || res.Refused != 2 {
			t.Fatalf("import counts: %+v", res)
		}
		for _, email := range []string{"werkzeug@example.com", "bcrypt@example.com"} {
			b := s.browser(t)
			if res := b.login(email, "Xsecure_password"); res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s: wrong password accepted: %d", email, res.StatusCode)
			}
			if res := b.login(email, "secure_password"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: imported hash refused: %d", email, res.StatusCode)
			}
			u, err := s.deps.DB.UserByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || s.deps.Hasher.NeedsRehash(u.PasswordHash) {
				t.Fatalf("%s: hash after login is %.12s…, want a current argon2id", email, u.PasswordHash)
			}
			if res := s.browser(t).login(email, "secure_password"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("%s: upgraded hash refused: %d", email, res.StatusCode)
			}
		}
	})
}
