package app

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/password"
)

func TestRequestIDFromTrustedProxyOnly(t *testing.T) {
	get := func(s *testServer, id string) string {
		req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
		req.Header.Set("X-Request-Id", id)
		return s.browser(t).do(req).Header.Get("X-Request-Id")
	}
	untrusted := startApp(t, nil)
	if got := get(untrusted, "forged-id"); got == "forged-id" || got == "" {
		t.Errorf("without trusted proxies the client's id was kept: %q", got)
	}
	trusted := startApp(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32"})
	if got := get(trusted, "lb-1234"); got != "lb-1234" {
		t.Errorf("a trusted proxy's id was replaced: %q", got)
	}
	// Even a trusted proxy cannot put a line break into the log.
	if got := get(trusted, "x\" level=ERROR msg=forged"); strings.Contains(got, " ") {
		t.Errorf("an id with spaces and quotes was kept: %q", got)
	}
}

// A login flood past the hashing bound gets 503 with Retry-After, not an
// unbounded queue of 19 MiB argon2 jobs. Because the email is unknown, this
// also fails if unknown emails skip the dummy hash (the timing oracle).
func TestHashingBoundAnswers503(t *testing.T) {
	// One slot, no waiting, and a cost that keeps the slot busy a while.
	// The email is unknown, so each attempt hashes with these parameters
	// (a stored hash would bring its own).
	s := startAppWith(t, nil, func(d *Deps) {
		d.Hasher = password.NewHasher(password.Options{
			Params:        password.Params{Memory: 64 << 10, Iterations: 3, Parallelism: 1, SaltLength: 16, KeyLength: 32},
			MaxConcurrent: 1, MaxWait: time.Nanosecond,
		})
	})
	// Five: the budget of one network for one account (here the shared
	// "no such account"), so no attempt is refused by the limit instead.
	var wg sync.WaitGroup
	codes := make(chan int, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := s.browser(t)
			res := b.submit("/login", "/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong but long enough"}})
			if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			codes <- res.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	seen := map[int]int{}
	for c := range codes {
		seen[c]++
	}
	if seen[http.StatusServiceUnavailable] == 0 || seen[http.StatusUnauthorized] == 0 || len(seen) != 2 {
		t.Fatalf("statuses %v: want some 401 and some 503", seen)
	}
}

func TestEveryLogLineOfARequestHasItsID(t *testing.T) {
	s := startApp(t, nil)
	req, _ := http.NewRequest("GET", s.URL+"/no/such/page?reset_token=s3cr3t", nil)
	id := s.browser(t).do(req).Header.Get("X-Request-Id")
	if strings.Contains(s.logs.String(), "s3cr3t") {
		t.Fatal("the query string reached the log")
	}
	if id == "" || !strings.Contains(s.logs.String(), "msg=request method=GET path=/no/such/page status=404") ||
		!strings.Contains(s.logs.String(), "request_id="+id) {
		t.Fatalf("access log lacks the request or its id %q:\n%s", id, s.logs.String())
	}
}
