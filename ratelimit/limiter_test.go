package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/clientip"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// memLimiter returns a Limiter on a fresh memory store with a fake clock,
// with o's other options.
func memLimiter(t *testing.T, limits string, o Options) *Limiter {
	t.Helper()
	o.Store = NewMemoryStore(MemoryOptions{Now: newClock().Now})
	o.Limits = mustParse(t, limits)
	return mustNew(t, o)
}

func mustNew(t *testing.T, o Options) *Limiter {
	t.Helper()
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func serve(h http.Handler, remote string, kv ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestHandlerHeadersAnd429(t *testing.T) {
	l := memLimiter(t, "3 per minute; 100 per hour", Options{})
	h := l.Handler(okHandler)

	rec := serve(h, "192.0.2.1:1000")
	if rec.Code != http.StatusOK {
		t.Fatalf("first request: %d", rec.Code)
	}
	if got, want := rec.Header().Get("RateLimit-Policy"), `"default-60s";q=3;w=60, "default-3600s";q=100;w=3600`; got != want {
		t.Errorf("RateLimit-Policy = %s, want %s", got, want)
	}
	if got, want := rec.Header().Get("RateLimit"), `"default-60s";r=2;t=20`; got != want {
		t.Errorf("RateLimit = %s, want %s", got, want)
	}
	if rec.Header().Get("Retry-After") != "" {
		t.Error("Retry-After on an admitted request")
	}
	serve(h, "192.0.2.1:1000")
	serve(h, "192.0.2.1:1000")

	rec = serve(h, "192.0.2.1:1000")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("fourth request: %d, want 429", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After = %q, want 20 (the real wait, not the window)", got)
	}
	if got, want := rec.Header().Get("RateLimit"), `"default-60s";r=0;t=60`; got != want {
		t.Errorf("RateLimit = %s, want %s", got, want)
	}
	if !strings.Contains(rec.Body.String(), "20 seconds") {
		t.Errorf("body %q does not say when to retry", rec.Body.String())
	}
}

// Without trusted proxies, a client changing X-Forwarded-For on every
// request is still one client.
func TestHandlerSpoofedForwardedForDoesNotEscape(t *testing.T) {
	l := memLimiter(t, "3 per minute", Options{Key: ByIP(clientip.New(nil))})
	h := l.Handler(okHandler)
	for i := range 3 {
		if rec := serve(h, "203.0.113.9:5000", "X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i)); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i, rec.Code)
		}
	}
	if rec := serve(h, "203.0.113.9:5000", "X-Forwarded-For", "10.0.0.99"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("spoofed X-Forwarded-For escaped the limit: %d", rec.Code)
	}
}

// Behind a trusted proxy, clients are told apart by the address the proxy
// appended, and what a client writes on the left does not change it.
func TestHandlerTrustedProxy(t *testing.T) {
	l := memLimiter(t, "2 per minute", Options{Key: ByIP(clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}))})
	h := l.Handler(okHandler)
	proxy := "127.0.0.1:40000"

	serve(h, proxy, "X-Forwarded-For", "198.51.100.1")
	serve(h, proxy, "X-Forwarded-For", "6.6.6.6, 198.51.100.1")
	if rec := serve(h, proxy, "X-Forwarded-For", "7.7.7.7, 198.51.100.1"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("client 1 escaped its limit by prepending an address: %d", rec.Code)
	}
	if rec := serve(h, proxy, "X-Forwarded-For", "198.51.100.2"); rec.Code != http.StatusOK {
		t.Errorf("client 2 shares client 1's budget: %d", rec.Code)
	}
}

// IPv6 is counted per /64: addresses in one /64 share a budget.
func TestHandlerIPv6Per64(t *testing.T) {
	l := memLimiter(t, "2 per minute", Options{})
	h := l.Handler(okHandler)
	serve(h, "[2001:db8:1:2::1]:1")
	serve(h, "[2001:db8:1:2::2]:1")
	if rec := serve(h, "[2001:db8:1:2:ffff:ffff:ffff:ffff]:1"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("another address in the same /64 escaped the limit: %d", rec.Code)
	}
	if rec := serve(h, "[2001:db8:1:3::1]:1"); rec.Code != http.StatusOK {
		t.Errorf("a different /64 shares the budget: %d", rec.Code)
	}
}

// Two policies sharing a store and a limit keep separate budgets, and a
// name that could make one policy's store key spell another's is refused.
func TestLimitersSharingAStore(t *testing.T) {
	store := NewMemoryStore(MemoryOptions{})
	limits := mustParse(t, "1 per minute")
	login := mustNew(t, Options{Store: store, Limits: limits, Name: "login"})
	other := mustNew(t, Options{Store: store, Limits: limits})
	ctx := context.Background()
	login.Allow(ctx, "ip:192.0.2.1", 1)
	if d, _ := other.Allow(ctx, "ip:192.0.2.1", 1); !d.Allowed {
		t.Error("policies share a budget")
	}
	if other.Name() != "default" || login.Name() != "login" {
		t.Errorf("names %q, %q", other.Name(), login.Name())
	}
	// With "a:b" allowed, name "a:b" + key "c" and name "a" + key "b:c"
	// would be one store key.
	if _, err := New(Options{Store: store, Limits: limits, Name: "a:b"}); err == nil {
		t.Error(`name "a:b" accepted`)
	}
}

// New refuses what would otherwise fail (or pass) every request at run time.
func TestNewValidates(t *testing.T) {
	store := NewMemoryStore(MemoryOptions{})
	limits := mustParse(t, "1 per minute")
	for name, o := range map[string]Options{
		"no store":      {Limits: limits},
		"no limits":     {Store: store},
		"empty limits":  {Store: store, Limits: []Limit{}},
		"invalid limit": {Store: store, Limits: []Limit{{Count: 0, Period: time.Minute}}},
		"tiny period":   {Store: store, Limits: []Limit{{Count: 1, Period: time.Nanosecond}}},
		"name quote":    {Store: store, Limits: limits, Name: `a"b`},
		"name space":    {Store: store, Limits: limits, Name: "a b"},
		"name long":     {Store: store, Limits: limits, Name: strings.Repeat("a", 65)},
	} {
		if l, err := New(o); err == nil || l != nil || !strings.HasPrefix(err.Error(), "ratelimit: ") {
			t.Errorf("%s: New = %v, %v; want an error", name, l, err)
		}
	}
	if _, err := New(Options{Store: store, Limits: limits, Name: "login-v2.account_1"}); err != nil {
		t.Error(err)
	}
	// The Limiter keeps its own copy of the limits.
	own := []Limit{{Count: 1, Period: time.Hour}}
	l := mustNew(t, Options{Store: store, Limits: own})
	own[0].Count = 1000
	l.Allow(context.Background(), "k", 1)
	if d, _ := l.Allow(context.Background(), "k", 1); d.Allowed {
		t.Error("changing the caller's slice changed the Limiter")
	}
}

func TestMustParse(t *testing.T) {
	if got := MustParse("5 per minute"); len(got) != 1 || got[0] != (Limit{5, time.Minute}) {
		t.Errorf("MustParse = %v", got)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustParse of a typo did not panic")
		}
	}()
	MustParse("5 per minnute")
}

func TestHandlerKeyCostAndHook(t *testing.T) {
	t.Run("key not ok: unlimited", func(t *testing.T) {
		l := memLimiter(t, "1 per minute", Options{Key: func(*http.Request) (string, bool) { return "", false }})
		h := l.Handler(okHandler)
		for range 3 {
			if rec := serve(h, "192.0.2.1:1"); rec.Code != http.StatusOK || rec.Header().Get("RateLimit") != "" {
				t.Fatalf("%d, RateLimit %q", rec.Code, rec.Header().Get("RateLimit"))
			}
		}
	})
	t.Run("cost", func(t *testing.T) {
		l := memLimiter(t, "4 per minute", Options{Cost: func(*http.Request) int { return 2 }})
		h := l.Handler(okHandler)
		serve(h, "192.0.2.1:1")
		serve(h, "192.0.2.1:1")
		if rec := serve(h, "192.0.2.1:1"); rec.Code != http.StatusTooManyRequests {
			t.Errorf("third request of cost 2 under 4 per minute: %d", rec.Code)
		}
	})
	t.Run("negative cost never refunds", func(t *testing.T) {
		l := memLimiter(t, "1 per minute", Options{})
		l.Allow(context.Background(), "ip:192.0.2.1", 1)
		l.cost = func(*http.Request) int { return -1 }
		h := l.Handler(okHandler)
		for range 3 {
			if rec := serve(h, "192.0.2.1:1"); rec.Code != http.StatusTooManyRequests {
				t.Fatalf("a negative Cost refunded the budget: %d", rec.Code)
			}
		}
	})
	t.Run("ErrorHandler gets a LimitedError after the headers", func(t *testing.T) {
		var got error
		l := memLimiter(t, "1 per minute", Options{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			if w.Header().Get("Retry-After") != "60" || w.Header().Get("RateLimit") == "" {
				t.Errorf("headers not set before the hook: %v", w.Header())
			}
			w.WriteHeader(http.StatusTeapot)
		}})
		h := l.Handler(okHandler)
		serve(h, "192.0.2.1:1")
		rec := serve(h, "192.0.2.1:1")
		var le *LimitedError
		if rec.Code != http.StatusTeapot || !errors.As(got, &le) || le.Decision.Allowed || le.Decision.RetryAfter <= 0 {
			t.Fatalf("hook not used as documented: %d, %#v", rec.Code, got)
		}
		if got.Error() != "ratelimit: limit reached" {
			t.Errorf("Error() = %q", got.Error())
		}
	})
}

// failingStore always fails, as a store that cannot be reached does.
type failingStore struct{}

func (failingStore) Allow(context.Context, string, []Limit, int) (Decision, error) {
	return Decision{}, errors.New("ratelimit: store unreachable")
}

func TestHandlerStoreFailure(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	limits := mustParse(t, "5/minute")
	l := mustNew(t, Options{Store: failingStore{}, Limits: limits, Logger: logger})
	h := l.Handler(okHandler)
	for range 5 {
		if rec := serve(h, "192.0.2.1:1"); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("store down: %d, Retry-After %q; want 503, 1", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if n := strings.Count(logs.String(), "rate limit store failed"); n != 1 {
		t.Errorf("%d log lines for 5 failures within a second, want 1", n)
	}
	if strings.Contains(logs.String(), "192.0.2.1") {
		t.Error("the client's address was logged")
	}

	var gotErr error
	l2 := mustNew(t, Options{Store: failingStore{}, Limits: limits, Logger: logger,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { gotErr = err; w.WriteHeader(599) }})
	var le *LimitedError
	if rec := serve(l2.Handler(okHandler), "192.0.2.1:1"); rec.Code != 599 || gotErr == nil || errors.As(gotErr, &le) {
		t.Errorf("ErrorHandler not given the store error: %d, %v", rec.Code, gotErr)
	}

	l3 := mustNew(t, Options{Store: failingStore{}, Limits: limits, Logger: logger, FailOpen: true})
	if rec := serve(l3.Handler(okHandler), "192.0.2.1:1"); rec.Code != http.StatusOK {
		t.Errorf("FailOpen: %d, want 200", rec.Code)
	}

	// A Limiter not made by New fails closed.
	var zero Limiter
	if rec := serve(zero.Handler(okHandler), "192.0.2.1:1"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("zero Limiter: %d, want 503", rec.Code)
	}
	if _, err := zero.Allow(context.Background(), "k", 1); err == nil {
		t.Error("zero Limiter: Allow succeeded")
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{
		-time.Second: 1, 0: 1, time.Nanosecond: 1, time.Second: 1,
		time.Second + time.Nanosecond: 2, 1500 * time.Millisecond: 2, time.Hour: 3600,
		1<<63 - 1: 1<<31 - 1,
	} {
		if got := RetryAfterSeconds(d); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestWriteHeaders(t *testing.T) {
	one := []Result{{Limit: Limit{10, time.Minute}, Remaining: 3, ResetAfter: 41*time.Second + time.Millisecond}}
	tests := []struct {
		name                          string
		policy                        string
		d                             Decision
		wantPolicy, wantRL, wantRetry string
	}{
		{"one limit", "default", Decision{Allowed: true, Results: one},
			`"default";q=10;w=60`, `"default";r=3;t=42`, ""},
		{"refused: Retry-After rounded up", "login", Decision{RetryAfter: 1200 * time.Millisecond, Results: one},
			`"login";q=10;w=60`, `"login";r=3;t=42`, "2"},
		{"refused: Retry-After at least 1", "x", Decision{RetryAfter: time.Millisecond},
			"", "", "1"},
		{"name escaped", `a"b\c` + "\n", Decision{Allowed: true, Results: one},
			`"a\"b\\c?";q=10;w=60`, `"a\"b\\c?";r=3;t=42`, ""},
		{"tightest: fewest remaining, then slowest", "p", Decision{Allowed: true, Results: []Result{
			{Limit: Limit{10, time.Second}, Remaining: 2, ResetAfter: time.Second},
			{Limit: Limit{100, time.Hour}, Remaining: 2, ResetAfter: 10 * time.Minute},
			{Limit: Limit{50, time.Minute}, Remaining: 5, ResetAfter: time.Minute},
		}}, `"p-1s";q=10;w=1, "p-3600s";q=100;w=3600, "p-60s";q=50;w=60`, `"p-3600s";r=2;t=600`, ""},
		{"same window twice", "p", Decision{Allowed: true, Results: []Result{
			{Limit: Limit{10, time.Minute}, Remaining: 1},
			{Limit: Limit{20, time.Minute}, Remaining: 0},
		}}, `"p-60s";q=10;w=60, "p-60s-2";q=20;w=60`, `"p-60s-2";r=0;t=0`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			WriteHeaders(h, tt.policy, tt.d)
			if got := h.Get("RateLimit-Policy"); got != tt.wantPolicy {
				t.Errorf("RateLimit-Policy = %s, want %s", got, tt.wantPolicy)
			}
			if got := h.Get("RateLimit"); got != tt.wantRL {
				t.Errorf("RateLimit = %s, want %s", got, tt.wantRL)
			}
			if got := h.Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
		})
	}
}
