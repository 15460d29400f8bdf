package app

import (
	"context"
	"fmt"
	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/testenv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

// BenchmarkFailedSignIn measures failed sign-ins for an unknown email and
// for accounts stored under different hashes, with the service's real
// hasher, and reports the median. Security finding 5: the time of a
// failure must not tell these apart (see failureFloor in pages/signin.go).
//
//	go test -run '^$' -bench FailedSignIn -benchtime 50x ./internal/app/
func BenchmarkFailedSignIn(b *testing.B) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { // two minutes pass at every look: no budget runs out
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(2 * time.Minute)
		return now
	}
	s := startAppWith(b, nil, func(d *Deps) {
		d.Hasher = password.NewHasher(password.Options{})
		d.Limits = ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Now: clock})
	})
	argon, err := s.deps.Hasher.Hash(context.Background(), "secure_password")
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct{ name, hash string }{
		{"unknown-email", ""},
		{"argon2id", argon},
		// Werkzeug hashes of "secure_password" (../shared/vectors).
		{"pbkdf2-sha1-1000", "pbkdf2:sha1:1000$xw7xTQef334dn9dB$b16b1fba163806a10645438830b9abeaeb8611f0"},
		{"pbkdf2-sha256-600000", "pbkdf2:sha256:600000$gL8hsiTQ8YfCh1AS$cb4a10832ff2423031995c040b13fc3282845b196c9edbeea02cd2ffc3411557"},
	}
	for _, c := range cases {
		email := c.name + "@example.com"
		if c.hash != "" {
			if err := s.deps.DB.CreateUser(context.Background(), &store.User{Email: email, Name: "Bench", PasswordHash: c.hash}); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(c.name, func(b *testing.B) {
			br := s.browser(b)
			tok := br.token("/login")
			form := url.Values{"csrf_token": {tok}, "email": {email}, "password": {"not the password at all"}}
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				start := time.Now()
				if res := br.post("/login", form); res.StatusCode != http.StatusUnauthorized {
					b.Fatalf("status %d, want 401", res.StatusCode)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2])/float64(time.Millisecond), "median-ms")
		})
	}
}

// BenchmarkRoutes serves the hot read routes in process, in parallel, on
// embedded defaults (SQLite, limits in memory), with the access log on and
// written to io.Discard: the handler's own cost, without sockets. bench/run.sh
// measures the same routes over TCP beside a bare server.
//
//	go test -run '^$' -bench Routes -benchmem -cpuprofile cpu.out ./internal/app/
func BenchmarkRoutes(b *testing.B) {
	cfg := testConfig(b, map[string]string{
		"RATELIMIT_DEFAULT": "100000000 per minute", "RATELIMIT_API": "100000000 per minute",
	})
	d, err := Open(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.Close)
	d.Hasher = cheapHasher()
	h, err := NewHandler(d)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	br := (&testServer{Server: srv, deps: d}).browser(b)
	br.register("bench@example.com", "Bench User", goodPassword)
	for i := range 1000 { // as bench/run.sh seeds
		u := &store.User{Email: fmt.Sprintf("user%d@example.com", i), Name: fmt.Sprintf("Bench User %d", i)}
		if err := d.DB.CreateUser(context.Background(), u); err != nil {
			b.Fatal(err)
		}
	}
	cookie := &http.Cookie{Name: "bulwark_session", Value: br.cookie("bulwark_session")}
	owner, err := d.DB.UserByEmail(context.Background(), "bench@example.com")
	if err != nil {
		b.Fatal(err)
	}
	tok, err := apikey.Generate()
	if err != nil {
		b.Fatal(err)
	}
	if err := d.DB.CreateAPIKey(context.Background(), &apikey.Key{
		ID: tok.ID, UserID: owner.ID, Name: "bench", Hash: apikey.Hash(tok.Plaintext), Scopes: []apikey.Scope{"users:read"},
	}); err != nil {
		b.Fatal(err)
	}

	for _, route := range []struct {
		name, path string
		signedIn   bool
	}{
		{"healthz", "/healthz", false},
		{"home", "/", false},
		{"login", "/login", false},
		{"account", "/account", true},
		{"search", "/search?q=bench", true},
		{"api-me", "/api/me", false},
	} {
		b.Run(route.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", srv.URL+route.path, nil)
					if route.signedIn {
						req.AddCookie(cookie)
					}
					if route.name == "api-me" {
						req.Header.Set("X-API-Key", tok.Plaintext)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("%s: status %d", route.path, w.Code)
					}
				}
			})
		})
	}
}

// BenchmarkRecoveryTiming measures the answers that must not tell a free
// address from a taken one: registration with EMAIL_VERIFICATION=mandatory
// and the password-reset request, with the service's real hasher and a real
// SMTP server, and reports the median of each. Their pages are compared
// byte for byte in recovery_test.go; this is the timing half.
//
//	go test -run '^$' -bench RecoveryTiming -benchtime 40x ./internal/app/
func BenchmarkRecoveryTiming(b *testing.B) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { // two hours pass at every look: no budget runs out
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(2 * time.Hour)
		return now
	}
	smtp := testenv.SMTP(b)
	s := startAppWith(b, map[string]string{
		"EMAIL_VERIFICATION": "mandatory", "SMTP_URL": smtp.URL(), "BASE_URL": "http://localhost:8080",
		"RATELIMIT_LOGIN": "100000000 per minute",
	}, func(d *Deps) {
		d.Hasher = password.NewHasher(password.Options{})
		d.Limits = ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Now: clock})
	})
	hash, err := s.deps.Hasher.Hash(context.Background(), goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.deps.DB.CreateUser(context.Background(), &store.User{
		Email: "taken@example.com", Name: "Taken", PasswordHash: hash, EmailVerified: true,
	}); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	fresh := func() string { return fmt.Sprintf("free%d@example.com", n.Add(1)) }
	cases := []struct {
		name, page string
		form       func() url.Values
	}{
		{"register/free", "/register", func() url.Values {
			return url.Values{"email": {fresh()}, "name": {"Someone"}, "password": {"another long passphrase here"}}
		}},
		{"register/taken", "/register", func() url.Values {
			return url.Values{"email": {"taken@example.com"}, "name": {"Someone"}, "password": {"another long passphrase here"}}
		}},
		{"forgot/unknown", "/password/forgot", func() url.Values { return url.Values{"email": {fresh()}} }},
		{"forgot/known", "/password/forgot", func() url.Values { return url.Values{"email": {"taken@example.com"}} }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			br := s.browser(b)
			times := make([]time.Duration, 0, b.N)
			for b.Loop() {
				form := c.form()
				form.Set("csrf_token", br.token(c.page))
				start := time.Now()
				if res := br.post(c.page, form); res.StatusCode != http.StatusOK {
					b.Fatalf("status %d, want 200", res.StatusCode)
				}
				times = append(times, time.Since(start))
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2])/float64(time.Millisecond), "median-ms")
		})
	}
}
