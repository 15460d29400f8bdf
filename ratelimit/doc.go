// Package ratelimit limits how often a client may call a service: limits in
// Flask-Limiter's notation ("100 per minute; 2000 per hour"), enforced with
// GCRA in memory or in Redis, as net/http middleware that answers 429 with
// RateLimit and Retry-After headers.
//
//	lim, err := ratelimit.New(ratelimit.Options{
//		Store:  ratelimit.NewMemoryStore(ratelimit.MemoryOptions{}),
//		Limits: ratelimit.MustParse("100 per minute; 2000 per hour"),
//		Name:   "default",
//		Key:    ratelimit.ByIP(clientip.New(trustedProxies)),
//	})
//	...
//	http.ListenAndServe(addr, lim.Handler(mux))
//
// New checks the options once, at start-up: a Limiter without a store or
// limits, or with a limit no store accepts, is never built. Limits read
// from configuration go through Parse and its error; limits written into
// the program can use MustParse, which panics on a typo like
// regexp.MustCompile.
//
// # GCRA, and how it differs from Flask-Limiter's windows
//
// Flask-Limiter's default "fixed window" strategy counts requests per
// calendar window: "100 per minute" allows 100 requests between 12:00:00
// and 12:00:59, and 100 more from 12:01:00 — so 200 can arrive within two
// seconds around the boundary. Its "moving window" closes that hole by
// keeping a timestamp per request (memory and Redis traffic grow with the
// limit). Either way, a refused client is told to come back when the window
// ends, which may be a full minute away even though a single slot frees up
// sooner.
//
// The generic cell rate algorithm (GCRA, from ATM networks; the same
// arithmetic as a token bucket) keeps one time per limit and key. "Count per
// Period" means: a burst of at most Count requests, after which one more
// request is admitted every Period/Count. So, under "100 per minute":
//
//   - a client can never exceed 100 requests in any 60-second span, wherever
//     that span starts: there is no window edge to double up on;
//   - the burst is exactly Count: an idle client may send 100 at once;
//   - the budget refills smoothly, one request every 0.6 s, instead of all at
//     once at the top of the minute;
//   - RetryAfter (and the Retry-After header) is the real wait until the
//     refused request would be admitted — 0.6 s, not "the rest of the
//     window" — so well-behaved clients neither hammer nor stall;
//   - state is a few bytes per key and expires as soon as the key has fully
//     recovered.
//
// # Several limits at once
//
// A request is checked against all the limits of a policy together and is
// charged to all or none: a request refused by the hourly limit does not use
// up the per-minute one, and the reverse. The Redis store (package
// redisstore, a package of its own so that memory-only programs do not link
// go-redis) does this in one Lua script — one round trip whatever the
// number of limits, reading the Redis server's clock — so instances sharing
// it cannot overshoot the way a read-then-increment from each instance does.
// Package storetest holds the cases every Store must pass; both stores run
// them.
//
// # Keys
//
// [ByIP] counts per client address (IPv6 per /64) as package clientip
// finds it, so forwarding headers are believed only from trusted proxies.
// Keys for signed-in users or API keys are small functions the application
// writes, since only it knows how a request is authenticated:
//
//	byUser := func(r *http.Request) (string, bool) {
//		u, ok := app.UserFrom(r.Context())
//		if !ok {
//			return "", false // anonymous: left to the per-IP limiter
//		}
//		return "user:" + u.ID, true
//	}
//	byAPIKey := func(r *http.Request) (string, bool) {
//		k, ok := apikey.FromContext(r.Context())
//		return "key:" + k.ID, ok // the key's id, never the secret
//	}
//
// # Inside handlers: charge, then refund
//
// Checks inside handlers use [Limiter.Allow]. A negative cost is a refund,
// so an expensive check can be bounded per key: charge 1 before it and
// refund with -1 when it succeeds. A per-account limit on failed sign-ins
// does this around the password check: attempts sent all at once each hold
// a unit while their password is checked, so no more than the limit's Count
// are ever checked; a right password gives its unit back, and only wrong
// ones stay charged. (Looking with cost 0 first and charging failures
// afterwards lets every attempt that arrives before the first charge
// through.)
//
// # Answers
//
// A refused request gets the RateLimit headers and Retry-After (whole
// seconds, rounded up, at least 1: [RetryAfterSeconds]), then
// Options.ErrorHandler with a *[LimitedError]. A store that fails gives
// ErrorHandler its error instead (fail closed), unless FailOpen is set;
// errors are logged at most once per second. The default ErrorHandler
// answers a plain-text 429, or 503 with Retry-After: 1.
package ratelimit
