package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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

// Options configure a Limiter; New checks them.
type Options struct {
	// Store keeps the budgets. Required.
	Store Store

	// Limits is the policy: at least one limit, each valid (see
	// Limit.Validate). Required. Parse or MustParse make them from
	// Flask-Limiter strings.
	Limits []Limit

	// Name is the policy's name in the RateLimit headers ("default",
	// "login"). It also keeps apart the budgets of Limiters sharing a Store.
	// It is 1 to 64 letters, digits, '-', '_' or '.'; empty means "default".
	Name string

	// Key names the client; nil means ByIP(nil): the TCP peer.
	Key KeyFunc

	// Cost weighs a request for Handler; nil means 1. A result below 0 is
	// taken as 0 (look only): the middleware never refunds.
	Cost func(r *http.Request) int

	// FailOpen decides what happens when the store fails: false (the
	// default) answers through ErrorHandler; true lets the request through.
	FailOpen bool

	// ErrorHandler writes the answer when Handler does not call next: the
	// request was refused (err is a *LimitedError; the RateLimit and
	// Retry-After headers are already set) or the store failed and FailOpen
	// is false (err is the store's error; no header is set). Nil writes a
	// plain-text 429, or a 503 with Retry-After: 1.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives store errors, at most one per second per Limiter so an
	// outage does not flood the log. Nil means slog.Default().
	Logger *slog.Logger

	// Observer, when set, is told of every refusal and store failure, for
	// metrics. Nil observes nothing.
	Observer Observer
}

// An Observer hears what a Limiter decided, so an application can count
// refusals per policy without this package knowing its metrics library.
// Its methods are called on the request path: they must be fast and safe
// for concurrent use. name is the Limiter's Name, a small fixed set; the
// key (an address, an account) is never passed, so it cannot end up as a
// metric label.
type Observer interface {
	// Refused is called when a check (Handler, or Allow with a cost of 0
	// or more) finds the budget spent.
	Refused(ctx context.Context, name string)
	// StoreFailed is called when the store returned err, whether or not
	// the Limiter fails open.
	StoreFailed(ctx context.Context, name string, err error)
}

// LimitedError is the error ErrorHandler gets for a refused request. Its
// Decision has the wait in RetryAfter; the response headers already say it.
type LimitedError struct {
	Decision Decision
}

// Error says the request was refused; the wait is in e.Decision.
func (e *LimitedError) Error() string { return "ratelimit: limit reached" }

// Limiter applies one policy (a named set of limits) to requests, as
// middleware (Handler) or inside handlers (Allow). Make one with New. It is
// safe for concurrent use.
type Limiter struct {
	store        Store
	limits       []Limit
	name         string
	key          KeyFunc
	cost         func(r *http.Request) int
	failOpen     bool
	errorHandler func(w http.ResponseWriter, r *http.Request, err error)
	logger       *slog.Logger
	observer     Observer

	lastLog atomic.Int64 // unix nanoseconds of the last logged error
}

// New returns a Limiter for o, or an error if o lacks a Store or Limits, or
// has an invalid limit or name. Checking here means a typo in a limit
// constant stops the program at start-up instead of failing every request.
func New(o Options) (*Limiter, error) {
	if o.Store == nil {
		return nil, errors.New("ratelimit: Options.Store is nil")
	}
	if len(o.Limits) == 0 {
		return nil, errors.New("ratelimit: Options.Limits is empty")
	}
	if err := check(o.Limits); err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = "default"
	}
	if !validName(name) {
		return nil, fmt.Errorf("ratelimit: invalid name %q: want 1 to 64 letters, digits, '-', '_' or '.'", o.Name)
	}
	l := &Limiter{
		store:        o.Store,
		limits:       append([]Limit(nil), o.Limits...), // the caller's slice may change later
		name:         name,
		key:          o.Key,
		cost:         o.Cost,
		failOpen:     o.FailOpen,
		errorHandler: o.ErrorHandler,
		logger:       o.Logger,
		observer:     o.Observer,
	}
	if l.key == nil {
		l.key = ByIP(nil)
	}
	if l.errorHandler == nil {
		l.errorHandler = defaultErrorHandler
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	return l, nil
}

// validName keeps names to a token-like set. Without ':' a name cannot
// spell another Limiter's store key ("a:b" + "c" against "a" + "b:c"), and
// the header stays readable.
func validName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

// Name returns the policy's name, as in the RateLimit headers.
func (l *Limiter) Name() string { return l.name }

// Allow charges cost against the policy for key, for checks inside
// handlers. Keys are the Limiter's own: the same key under another Limiter
// has its own budget. A cost of 0 only looks; a negative cost is a refund
// (see Store).
//
// To bound an expensive check per key, charge 1 before it and refund with
// -1 when it succeeds. A per-account limit on failed sign-ins, for example,
// charges 1 before verifying the password and refunds it when the password
// was right: however many attempts arrive at once, at most the limit's
// Count of them reach the password check, since each holds its unit while
// it runs. Checking with cost 0 first and charging failures afterwards
// would let every attempt that arrives before the first charge through.
func (l *Limiter) Allow(ctx context.Context, key string, cost int) (Decision, error) {
	if l.store == nil {
		return Decision{}, errNotNew
	}
	d, err := l.store.Allow(ctx, l.name+":"+key, l.limits, cost)
	if l.observer != nil {
		switch {
		case err != nil:
			l.observer.StoreFailed(ctx, l.name, err)
		case !d.Allowed && cost >= 0:
			l.observer.Refused(ctx, l.name)
		}
	}
	return d, err
}

// errNotNew fails every request of a Limiter not made by New: closed, as
// for a store that cannot answer.
var errNotNew = errors.New("ratelimit: Limiter not made by New")

// Handler limits the requests reaching next. Every limited request's
// response carries RateLimit-Policy and RateLimit headers; a refused one
// also carries Retry-After and is answered by ErrorHandler.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	keyFunc, errorHandler := l.key, l.errorHandler
	if l.store == nil { // not made by New: every request gets errNotNew
		keyFunc, errorHandler = ByIP(nil), defaultErrorHandler
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := keyFunc(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		cost := 1
		if l.cost != nil {
			cost = max(l.cost(r), 0)
		}
		d, err := l.Allow(r.Context(), key, cost)
		if err != nil {
			l.logError(r.Context(), err)
			if l.failOpen {
				next.ServeHTTP(w, r)
				return
			}
			errorHandler(w, r, err)
			return
		}
		WriteHeaders(w.Header(), l.name, d)
		if !d.Allowed {
			errorHandler(w, r, &LimitedError{Decision: d})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// defaultErrorHandler answers in plain text: 429 saying when to come back,
// or 503 when the store failed.
func defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	var le *LimitedError
	if errors.As(err, &le) {
		http.Error(w, fmt.Sprintf("Too many requests. Please try again in %d seconds.", RetryAfterSeconds(le.Decision.RetryAfter)),
			http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "The service is busy. Please try again in a moment.", http.StatusServiceUnavailable)
}

// logError logs err unless another error was logged less than a second ago.
// The key is left out: it is often an address or an account.
func (l *Limiter) logError(ctx context.Context, err error) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	lg := l.logger
	if lg == nil {
		lg = slog.Default()
	}
	lg.ErrorContext(ctx, "rate limit store failed", "policy", l.name, "fail_open", l.failOpen, "err", err)
}
