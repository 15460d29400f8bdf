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

func memLimiter(t *testing.T, limits string) (*Limiter, *clock) {
	clk := newClock()
	return &Limiter{
		Store:  NewMemoryStore(MemoryOptions{Now: clk.Now}),
		Limits: mustParse(t, limits),
	}, clk
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
	l, _ := memLimiter(t, "3 per minute; 100 per hour")
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
	l, _ := memLimiter(t, "3 per minute")
	l.Key = ByIP(clientip.New(nil))
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
	l, _ := memLimiter(t, "2 per minute")
	l.Key = ByIP(clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}))
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
	l, _ := memLimiter(t, "2 per minute")
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
// policy name cannot be chosen to collide with another's keys.
func TestLimitersSharingAStore(t *testing.T) {
	store := NewMemoryStore(MemoryOptions{})
	limits := mustParse(t, "1 per minute")
	login := &Limiter{Store: store, Limits: limits, Name: "login"}
	other := &Limiter{Store: store, Limits: limits, Name: "default"}
	ctx := context.Background()
	login.Allow(ctx, "ip:192.0.2.1", 1)
	if d, _ := other.Allow(ctx, "ip:192.0.2.1", 1); !d.Allowed {
		t.Error("policies share a budget")
	}
	a := &Limiter{Store: store, Limits: limits, Name: "a:b"}
	b := &Limiter{Store: store, Limits: limits, Name: "a"}
	a.Allow(ctx, "c", 1)
	if d, _ := b.Allow(ctx, "b:c", 1); !d.Allowed {
		t.Error(`name "a:b" + key "c" collides with name "a" + key "b:c"`)
	}
}

func TestHandlerKeyCostAndHooks(t *testing.T) {
	t.Run("key not ok: unlimited", func(t *testing.T) {
		l, _ := memLimiter(t, "1 per minute")
		l.Key = func(*http.Request) (string, bool) { return "", false }
		h := l.Handler(okHandler)
		for range 3 {
			if rec := serve(h, "192.0.2.1:1"); rec.Code != http.StatusOK || rec.Header().Get("RateLimit") != "" {
				t.Fatalf("%d, RateLimit %q", rec.Code, rec.Header().Get("RateLimit"))
			}
		}
	})
	t.Run("cost", func(t *testing.T) {
		l, _ := memLimiter(t, "4 per minute")
		l.Cost = func(*http.Request) int { return 2 }
		h := l.Handler(okHandler)
		serve(h, "192.0.2.1:1")
		serve(h, "192.0.2.1:1")
		if rec := serve(h, "192.0.2.1:1"); rec.Code != http.StatusTooManyRequests {
			t.Errorf("third request of cost 2 under 4 per minute: %d", rec.Code)
		}
	})
	t.Run("OnLimited", func(t *testing.T) {
		l, _ := memLimiter(t, "1 per minute")
		var got Decision
		l.OnLimited = func(w http.ResponseWriter, r *http.Request, d Decision) {
			got = d
			if w.Header().Get("Retry-After") == "" {
				t.Error("Retry-After not set before OnLimited")
			}
			w.WriteHeader(http.StatusTeapot)
		}
		h := l.Handler(okHandler)
		serve(h, "192.0.2.1:1")
		if rec := serve(h, "192.0.2.1:1"); rec.Code != http.StatusTeapot || got.Allowed || got.RetryAfter <= 0 {
			t.Errorf("OnLimited not used: %d, %+v", rec.Code, got)
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
	l := &Limiter{Store: failingStore{}, Limits: mustParse(t, "5/minute"), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
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
	l2 := &Limiter{Store: failingStore{}, Limits: l.Limits, Logger: l.Logger,
		OnError: func(w http.ResponseWriter, r *http.Request, err error) { gotErr = err; w.WriteHeader(599) }}
	if rec := serve(l2.Handler(okHandler), "192.0.2.1:1"); rec.Code != 599 || gotErr == nil {
		t.Errorf("OnError not used: %d, %v", rec.Code, gotErr)
	}

	l3 := &Limiter{Store: failingStore{}, Limits: l.Limits, Logger: l.Logger, FailOpen: true}
	if rec := serve(l3.Handler(okHandler), "192.0.2.1:1"); rec.Code != http.StatusOK {
		t.Errorf("FailOpen: %d, want 200", rec.Code)
	}

	// A Limiter set up wrong fails closed too.
	for _, bad := range []*Limiter{{Limits: l.Limits}, {Store: NewMemoryStore(MemoryOptions{})}} {
		bad.Logger = l.Logger
		if rec := serve(bad.Handler(okHandler), "192.0.2.1:1"); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("misconfigured Limiter: %d, want 503", rec.Code)
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
