package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/internal/testenv"
)

func TestSearchEscapesAndIsLiteral(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *testServer) {
		b := s.browser(t)
		b.register("searcher@example.com", "Searcher", goodPassword)
		b.submit("/account", "/account/profile", url.Values{"name": {"Grace <b>Hopper</b>"}, "bio": {"100% compiler_person"}})

		xss := `<script>alert(1)</script>`
		res := b.get("/search?q=" + url.QueryEscape(xss))
		if res.StatusCode != http.StatusOK || strings.Contains(res.body, xss) || !strings.Contains(res.body, "&lt;script&gt;") {
			t.Fatalf("the query is not echoed escaped: %d\n%s", res.StatusCode, res.body)
		}
		if res := b.get("/search?q=" + url.QueryEscape("<b>")); strings.Contains(res.body, "<b>Hopper") {
			t.Fatal("a stored name is rendered as HTML")
		}
		// LIKE wildcards are literal: "%" finds only the bio with a percent sign.
		if res := b.get("/search?q=%25"); !strings.Contains(res.body, "<strong>Grace") {
			t.Fatal(`"%" does not find the bio that contains it`)
		}
		if res := b.get("/search?q=" + url.QueryEscape("_x")); strings.Contains(res.body, "<strong>Grace") {
			t.Fatal(`"_" acts as a wildcard`)
		}
		if res := b.get("/search?q=" + url.QueryEscape("' OR 1=1 --")); !strings.Contains(res.body, "Nobody matches") {
			t.Fatal("an injection string matched someone")
		}
		if res := b.get("/search?q=" + strings.Repeat("a", 101)); res.StatusCode != http.StatusBadRequest {
			t.Fatalf("a 101-character query: %d, want 400", res.StatusCode)
		}
	})
}

func TestSignedInPagesNeedASession(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	res := b.get("/account")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Faccount" {
		t.Fatalf("GET /account signed out: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := b.get("/search?q=a"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /search signed out: %d", res.StatusCode)
	}
	if res := b.submit("/login", "/account/profile", url.Values{"name": {"x"}}); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST /account/profile signed out: %d, want 401", res.StatusCode)
	}
}

func TestProfileValidation(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	b.register("prof@example.com", "Prof", goodPassword)
	for _, c := range []struct {
		name, bio string
		want      int
	}{
		{"Ada Lovelace", "Analyst.\nFirst programmer.", http.StatusSeeOther},
		{"", "", http.StatusBadRequest},
		{strings.Repeat("n", 101), "", http.StatusBadRequest},
		{"Ada", strings.Repeat("b", 501), http.StatusBadRequest},
		{"Ada\x00", "", http.StatusBadRequest},
		{"Ada", "bell\x07", http.StatusBadRequest},
	} {
		res := b.submit("/account", "/account/profile", url.Values{"name": {c.name}, "bio": {c.bio}})
		if res.StatusCode != c.want {
			t.Errorf("name %q bio %.20q: %d, want %d", c.name, c.bio, res.StatusCode, c.want)
		}
	}
	if !strings.Contains(b.get("/account").body, "First programmer.") {
		t.Fatal("the saved bio is not shown")
	}
}

func TestRegisterRefusesWeakAndDuplicate(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	for _, c := range []struct{ email, name, pw, want string }{
		{"not-an-email", "N", goodPassword, "email address"},
		{"short@example.com", "Short", "tiny", "15"},
		{"common@example.com", "Common", "passwordpassword", "common"},
		{"jane.doe@example.com", "Jane Doe", "jane.doe@example.com", ""},
	} {
		res := b.submit("/register", "/register", url.Values{"email": {c.email}, "name": {c.name}, "password": {c.pw}})
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(res.body, c.want) {
			t.Errorf("register %s / %q: %d, want 400 mentioning %q\n%.400s", c.email, c.pw, res.StatusCode, c.want, res.body)
		}
	}
	b.register("dup@example.com", "Dup", goodPassword)
	c := s.browser(t)
	res := c.submit("/register", "/register", url.Values{"email": {"DUP@example.com"}, "name": {"Dup2"}, "password": {goodPassword}})
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("duplicate email in another case: %d, want 400", res.StatusCode)
	}
}

// Two instances on one PostgreSQL database (sessions in the database).
func TestTwoInstancesSharePostgres(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testenv.Postgres(t)}
	one, two := startApp(t, env), startApp(t, env)
	b := one.browser(t)
	b.register("pg2@example.com", "PG", goodPassword)
	c := two.browser(t)
	c.setCookie("bulwark_session", b.cookie("bulwark_session"))
	if !c.signedIn() {
		t.Fatal("a session made on one instance is not valid on the other")
	}
	c.submit("/account", "/logout", url.Values{})
	if b.signedIn() {
		t.Fatal("logout on one instance did not end the session on the other")
	}
}

func TestSecurityEventsRecorded(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	b.register("ev@example.com", "Ev", goodPassword)
	b.submit("/account", "/logout", url.Values{})
	b.login("ev@example.com", "a wrong password here")
	b.login("ev@example.com", goodPassword)
	page := b.get("/account").body
	for _, kind := range []string{"register", "logout", "login_failure", "login_success"} {
		if !strings.Contains(page, kind) {
			t.Errorf("the account page does not show the %s event", kind)
		}
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "event=login_failure") || strings.Contains(logs, "a wrong password here") || strings.Contains(logs, goodPassword) {
		t.Fatal("the log lacks the event or holds a password")
	}
}

// Reading pages without forms must not create sessions: each would be a
// stored row, and crawlers would fill the store.
func TestReadingCreatesNoSession(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	for _, path := range []string{"/", "/no/such/page", "/healthz"} {
		if res := b.get(path); len(res.Header.Values("Set-Cookie")) > 0 {
			t.Errorf("GET %s set a cookie: %q", path, res.Header.Values("Set-Cookie"))
		}
	}
	if res := b.get("/login"); len(res.Header.Values("Set-Cookie")) != 1 {
		t.Error("the login form did not start a session for its CSRF token")
	}
}

// Search pages hold 50 people; the next page follows from a cursor, and a
// cursor that was not made here is refused.
func TestSearchPages(t *testing.T) {
	s := startApp(t, nil)
	b := s.browser(t)
	b.register("reader@example.com", "Reader", goodPassword)
	for i := range 55 {
		u := &store.User{Email: fmt.Sprintf("pagey%02d@example.com", i), Name: fmt.Sprintf("Pagey %02d", i)}
		if err := s.deps.DB.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	first := b.get("/search?q=pagey")
	next := regexp.MustCompile(`href="(/search\?q=pagey&amp;cursor=[^"]+)"`).FindStringSubmatch(first.body)
	if strings.Count(first.body, "<strong>Pagey") != 50 || next == nil {
		t.Fatalf("first page: %d people, next link %v", strings.Count(first.body, "<strong>Pagey"), next)
	}
	second := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if n := strings.Count(second.body, "<strong>Pagey"); n != 5 || !strings.Contains(second.body, "Pagey 54") || strings.Contains(second.body, "rel=\"next\"") {
		t.Fatalf("second page: %d people", n)
	}
	if res := b.get("/search?q=pagey&cursor=forged"); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a forged cursor: %d, want 400", res.StatusCode)
	}
}
