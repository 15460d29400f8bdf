package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwarkhq/bulwark/clientip"
)

// KeyFunc names the client a request is counted against. ok=false leaves the
// request unlimited (a health check, or a user key func on an anonymous
// request when another Limiter covers those).
type KeyFunc func(r *http.Request) (key string, ok bool)

// ByIP counts requests per client address as res finds it (see package
// clientip), with IPv6 grouped by /64 so one subscriber cannot spread
// requests over the addresses of its network. A nil res trusts no proxy.
// Requests whose address cannot be read share one budget.
func ByIP(res *clientip.Resolver) KeyFunc {
	return func(r *http.Request) (string, bool) {
		k := clientip.Key(res.ClientIP(r))
		if k == "" {
			k = "unknown"
		}
		return "ip:" + k, true
	}
}

// Limiter applies one policy — a named set of limits — to requests. Set its
// fields before first use and do not change them afterwards; a Limiter must
// not be copied after first use.
type Limiter struct {
	Store  Store
	Limits []Limit
	// Name is the policy's name in the RateLimit headers ("default",
	// "login"). It also keeps apart the budgets of Limiters sharing a Store.
	// Empty means "default".
	Name string
	// Key names the client; nil means ByIP(nil): the TCP peer.
	Key KeyFunc
	// Cost weighs a request; nil means 1.
	Cost func(r *http.Request) int
	// FailOpen decides what happens when the store fails: false (the
	// default) answers 503 through OnError; true lets the request through.
	FailOpen bool
	// OnLimited writes the answer to a refused request. The RateLimit and
	// Retry-After headers are already set. Nil writes a plain-text 429.
	OnLimited func(w http.ResponseWriter, r *http.Request, d Decision)
	// OnError writes the answer when the store fails and FailOpen is false.
	// Nil writes a plain-text 503 with Retry-After: 1.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives store errors, at most one per second per Limiter so an
	// outage does not flood the log. Nil means slog.Default().
	Logger *slog.Logger

	lastLog atomic.Int64 // unix nanoseconds of the last logged error
}

func (l *Limiter) name() string {
	if l.Name == "" {
		return "default"
	}
	return l.Name
}

// Allow charges cost against the policy for key, for checks inside handlers:
// for example a per-account limit on failed sign-ins, peeked at with cost 0
// before checking the password and charged with cost 1 on a failure. Keys
// are the Limiter's own: the same key under another Limiter has its own
// budget.
func (l *Limiter) Allow(ctx context.Context, key string, cost int) (Decision, error) {
	if l.Store == nil {
		return Decision{}, errors.New("ratelimit: Limiter has no Store")
	}
	if len(l.Limits) == 0 {
		return Decision{}, errors.New("ratelimit: Limiter has no Limits")
	}
	return l.Store.Allow(ctx, l.storeKey(key), l.Limits, cost)
}

// storeKey puts the policy name before the key. ':' and '%' in the name are
// escaped so that no (name, key) pair can spell another pair's store key.
func (l *Limiter) storeKey(key string) string {
	name := l.name()
	if strings.ContainsAny(name, ":%") {
		name = strings.NewReplacer("%", "%25", ":", "%3A").Replace(name)
	}
	return name + ":" + key
}

// Handler limits the requests reaching next. Every limited request's
// response carries RateLimit-Policy and RateLimit headers; a refused one
// also carries Retry-After.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	keyFunc := l.Key
	if keyFunc == nil {
		keyFunc = ByIP(nil)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := keyFunc(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		cost := 1
		if l.Cost != nil {
			cost = l.Cost(r)
		}
		d, err := l.Allow(r.Context(), key, cost)
		if err != nil {
			l.logError(r.Context(), err)
			switch {
			case l.FailOpen:
				next.ServeHTTP(w, r)
			case l.OnError != nil:
				l.OnError(w, r, err)
			default:
				w.Header().Set("Retry-After", "1")
				http.Error(w, "The service is busy. Please try again in a moment.", http.StatusServiceUnavailable)
			}
			return
		}
		WriteHeaders(w.Header(), l.name(), d)
		if !d.Allowed {
			if l.OnLimited != nil {
				l.OnLimited(w, r, d)
				return
			}
			http.Error(w, fmt.Sprintf("Too many requests. Please try again in %d seconds.", retrySeconds(d.RetryAfter)),
				http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logError logs err unless another error was logged less than a second ago.
// The key is left out: it is often an address or an account.
func (l *Limiter) logError(ctx context.Context, err error) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	lg := l.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.ErrorContext(ctx, "rate limit store failed", "policy", l.name(), "fail_open", l.FailOpen, "err", err)
}
