package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

func ExampleLimiter() {
	limits, err := ratelimit.Parse("2 per minute; 100 per hour")
	if err != nil {
		panic(err)
	}
	proxies := clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	lim := &ratelimit.Limiter{
		Store:  ratelimit.NewMemoryStore(ratelimit.MemoryOptions{}),
		Limits: limits,
		Name:   "default",
		Key:    ratelimit.ByIP(proxies),
	}
	h := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))

	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Printf("%d RateLimit: %s Retry-After: %q\n", rec.Code, rec.Header().Get("RateLimit"), rec.Header().Get("Retry-After"))
	}
	// Output:
	// 200 RateLimit: "default-60s";r=1;t=30 Retry-After: ""
	// 200 RateLimit: "default-60s";r=0;t=60 Retry-After: ""
	// 429 RateLimit: "default-60s";r=0;t=60 Retry-After: "30"
}

// A per-account limit on failed sign-ins, checked inside the handler: look
// (cost 0) before the expensive password check, charge only failures.
func ExampleLimiter_Allow() {
	failures := &ratelimit.Limiter{
		Store:  ratelimit.NewMemoryStore(ratelimit.MemoryOptions{}),
		Limits: []ratelimit.Limit{{Count: 3, Period: 15 * time.Minute}},
		Name:   "login-account",
	}
	ctx := context.Background()
	login := func(email, password string) string {
		d, err := failures.Allow(ctx, "account:"+email, 0)
		if err != nil {
			return "503: try again later"
		}
		if !d.Allowed {
			return fmt.Sprintf("429: locked, retry in %v", d.RetryAfter.Round(time.Second))
		}
		if password != "correct horse battery staple" {
			failures.Allow(ctx, "account:"+email, 1)
			return "401: wrong email or password"
		}
		return "303: signed in"
	}
	for _, pw := range []string{"a", "b", "c", "correct horse battery staple"} {
		fmt.Println(login("ada@example.com", pw))
	}
	// Output:
	// 401: wrong email or password
	// 401: wrong email or password
	// 401: wrong email or password
	// 429: locked, retry in 5m0s
}

func ExampleParse() {
	limits, err := ratelimit.Parse("200 per day; 50 per hour; 10/30seconds")
	if err != nil {
		panic(err)
	}
	for _, l := range limits {
		fmt.Println(l)
	}
	// Output:
	// 200 per day
	// 50 per hour
	// 10 per 30 seconds
}
