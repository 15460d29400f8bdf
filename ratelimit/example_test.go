package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/ratelimit"
)

func ExampleLimiter() {
	proxies := clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
	lim, err := ratelimit.New(ratelimit.Options{
		Store:  ratelimit.NewMemoryStore(ratelimit.MemoryOptions{}),
		Limits: ratelimit.MustParse("2 per minute; 100 per hour"),
		Name:   "default",
		Key:    ratelimit.ByIP(proxies),
	})
	if err != nil {
		panic(err)
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

// A per-account limit on failed sign-ins, checked inside the handler.
// Each attempt is charged before the expensive password check and refunded
// when the password is right, so only failures use up the budget, and
// attempts sent all at once cannot get more than 3 guesses checked.
func ExampleLimiter_Allow() {
	failures, err := ratelimit.New(ratelimit.Options{
		Store:  ratelimit.NewMemoryStore(ratelimit.MemoryOptions{}),
		Limits: []ratelimit.Limit{{Count: 3, Period: 15 * time.Minute}},
		Name:   "login-account",
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	login := func(email, password string) string {
		key := "account:" + email
		d, err := failures.Allow(ctx, key, 1) // charge first
		if err != nil {
			return "503: try again later"
		}
		if !d.Allowed {
			return fmt.Sprintf("429: locked, retry in %v", d.RetryAfter.Round(time.Second))
		}
		if password != "correct horse battery staple" {
			return "401: wrong email or password" // the charge stays
		}
		if _, err := failures.Allow(ctx, key, -1); err != nil { // refund
			return "503: try again later"
		}
		return "303: signed in"
	}
	for _, pw := range []string{"a", "correct horse battery staple", "b", "c", "correct horse battery staple"} {
		fmt.Println(login("ada@example.com", pw))
	}
	// Output:
	// 401: wrong email or password
	// 303: signed in
	// 401: wrong email or password
	// 401: wrong email or password
	// 429: locked, retry in 5m0s
}

// An application that writes its own 429 page reads the wait from the
// *LimitedError its hook gets, and rounds it as the Retry-After header does.
func ExampleOptions_errorHandler() {
	lim, err := ratelimit.New(ratelimit.Options{
		Store:  ratelimit.NewMemoryStore(ratelimit.MemoryOptions{}),
		Limits: ratelimit.MustParse("1 per 90 seconds"),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var limited *ratelimit.LimitedError
			if errors.As(err, &limited) {
				wait := ratelimit.RetryAfterSeconds(limited.Decision.RetryAfter)
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprintf(w, "Slow down: wait %d seconds.", wait)
				return
			}
			// The store failed: fail closed.
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
		},
	})
	if err != nil {
		panic(err)
	}
	h := lim.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		fmt.Printf("%d Retry-After: %q Body: %q\n", rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
	}
	// Output:
	// 200 Retry-After: "" Body: ""
	// 429 Retry-After: "90" Body: "Slow down: wait 90 seconds."
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
