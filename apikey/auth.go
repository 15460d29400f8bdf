package apikey

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures an Authenticator. Store is required.
type Options struct {
	// Store looks keys up and records their last use.
	Store Store

	// ErrorHandler answers refused requests. err wraps ErrMissing or
	// ErrInvalid (answer 401), ErrForbidden (403, a *ScopeError) or
	// ErrUnavailable (503). WWW-Authenticate is already set when it is
	// called. Default: a short plain-text answer with that status.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// Now is the clock; default time.Now.
	Now func() time.Time

	// TouchInterval is how often, at most, a key's last-use time is
	// written, per key and process; default one minute.
	TouchInterval time.Duration

	// Realm is the realm of WWW-Authenticate; default "api". It must not
	// contain quotes, backslashes or control characters.
	Realm string

	// Logger receives failed last-use writes; default slog.Default().
	Logger *slog.Logger
}

// Authenticator is the API-key middleware built by New. It is safe for
// concurrent use.
type Authenticator struct {
	store         Store
	errorHandler  func(w http.ResponseWriter, r *http.Request, err error)
	now           func() time.Time
	touchInterval time.Duration
	logger        *slog.Logger
	challenge     string // `Bearer realm="api"`

	mu        sync.Mutex
	touched   map[string]time.Time // key id → when this process last wrote its last use
	nextPrune int                  // prune touched when it reaches this size
}

// minPrune is the size of touched below which it is never pruned.
const minPrune = 1024

// New returns an Authenticator, or an error for invalid Options.
func New(o Options) (*Authenticator, error) {
	if o.Store == nil {
		return nil, errors.New("apikey: Options.Store is required")
	}
	if o.TouchInterval < 0 {
		return nil, errors.New("apikey: Options.TouchInterval must not be negative")
	}
	if o.Realm == "" {
		o.Realm = "api"
	}
	for _, c := range []byte(o.Realm) {
		if c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return nil, errors.New("apikey: Options.Realm must not contain quotes, backslashes or control characters")
		}
	}
	a := &Authenticator{
		store:         o.Store,
		errorHandler:  o.ErrorHandler,
		now:           o.Now,
		touchInterval: o.TouchInterval,
		logger:        o.Logger,
		challenge:     `Bearer realm="` + o.Realm + `"`,
		touched:       make(map[string]time.Time),
		nextPrune:     minPrune,
	}
	if a.errorHandler == nil {
		a.errorHandler = defaultErrorHandler
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.touchInterval == 0 {
		a.touchInterval = time.Minute
	}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	return a, nil
}

// Authenticate checks a key as Handler does and returns it: the error wraps
// ErrInvalid for any key that must not be accepted (malformed, unknown,
// wrong secret, expired, revoked), or ErrUnavailable when the Store failed.
// A malformed key never reaches the Store. On success the key's last use
// is recorded if it is older than TouchInterval.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (*Key, error) {
	id, err := Parse(key)
	if err != nil {
		return nil, ErrInvalid
	}
	sum := Hash(key)
	k, err := a.store.KeyByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if k == nil || k.ID != id || subtle.ConstantTimeCompare(sum[:], k.Hash[:]) != 1 {
		return nil, ErrInvalid
	}
	now := a.now()
	if k.Revoked() || k.Expired(now) {
		return nil, ErrInvalid
	}
	a.touch(ctx, k, now)
	return k, nil
}

// touch writes the key's last use if the stored one is older than
// touchInterval and this process has not written it within touchInterval
// (concurrent requests of one key write once). A failure is logged, not
// retried before the interval is over: a failing database must not get a
// write per request.
func (a *Authenticator) touch(ctx context.Context, k *Key, now time.Time) {
	if !k.LastUsed.IsZero() && now.Sub(k.LastUsed) < a.touchInterval {
		return
	}
	a.mu.Lock()
	if last, ok := a.touched[k.ID]; ok && now.Sub(last) < a.touchInterval && now.Sub(last) >= 0 {
		a.mu.Unlock()
		return
	}
	a.touched[k.ID] = now
	if len(a.touched) >= a.nextPrune {
		for id, t := range a.touched {
			if now.Sub(t) >= a.touchInterval {
				delete(a.touched, id)
			}
		}
		a.nextPrune = max(minPrune, 2*len(a.touched))
	}
	a.mu.Unlock()
	if err := a.store.TouchKey(ctx, k.ID, now); err != nil {
		a.logger.LogAttrs(ctx, slog.LevelWarn, "apikey: could not record last use",
			slog.String("key_id", k.ID), slog.Any("error", err))
		return
	}
	k.LastUsed = now
}

// Handler authenticates every request by its key (X-API-Key, else
// Authorization: Bearer) and calls next with the Key in the request's
// context (FromContext). Otherwise it sets WWW-Authenticate (for 401) and
// calls the ErrorHandler, and next is not called.
func (a *Authenticator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := requestKey(r)
		if err == nil {
			var k *Key
			if k, err = a.Authenticate(r.Context(), key); err == nil {
				next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), k)))
				return
			}
		}
		a.refuse(w, r, err)
	})
}

// Require calls next only for a request whose key (put in the context by
// Handler, which must run first) carries scope. A key without it gets a
// *ScopeError (403); a request without a key ErrMissing (401). A scope
// that does not exist is carried by no key, so a typo in the wiring fails
// closed.
func (a *Authenticator) Require(scope Scope, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, ok := FromContext(r.Context())
		switch {
		case !ok:
			a.refuse(w, r, ErrMissing)
		case !k.Has(scope):
			a.refuse(w, r, &ScopeError{Scope: scope})
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// refuse sets WWW-Authenticate as RFC 6750 §3 asks and calls the
// ErrorHandler.
func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var se *ScopeError
	switch {
	case errors.Is(err, ErrMissing):
		w.Header().Set("WWW-Authenticate", a.challenge)
	case errors.Is(err, ErrInvalid):
		w.Header().Set("WWW-Authenticate", a.challenge+`, error="invalid_token"`)
	case errors.As(err, &se) && known(se.Scope):
		w.Header().Set("WWW-Authenticate", a.challenge+`, error="insufficient_scope", scope="`+string(se.Scope)+`"`)
	}
	a.errorHandler(w, r, err)
}

// known reports whether s is a scope of AllScopes (so it can be quoted in
// a header as it is).
func known(s Scope) bool { _, err := ParseScope(string(s)); return err == nil }

// requestKey returns the key a request carries: the X-API-Key header,
// else the credentials of "Authorization: Bearer". Two X-API-Key headers
// are refused rather than one chosen.
func requestKey(r *http.Request) (string, error) {
	if vs := r.Header.Values("X-Api-Key"); len(vs) > 0 {
		if len(vs) > 1 {
			return "", ErrInvalid
		}
		if k := strings.TrimSpace(vs[0]); k != "" {
			return k, nil
		}
	}
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 {
		return "", ErrMissing
	}
	if len(auth) > 1 {
		return "", ErrInvalid
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(auth[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMissing // another scheme: no key of ours
	}
	if cred = strings.TrimSpace(cred); cred == "" {
		return "", ErrMissing
	}
	return cred, nil
}

// defaultErrorHandler answers in plain text.
func defaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	var se *ScopeError
	switch {
	case errors.Is(err, ErrMissing), errors.Is(err, ErrInvalid):
		http.Error(w, "Unauthorized: send a valid API key in X-API-Key or Authorization: Bearer.", http.StatusUnauthorized)
	case errors.As(err, &se):
		http.Error(w, "Forbidden: this API key lacks the scope "+string(se.Scope)+".", http.StatusForbidden)
	case errors.Is(err, ErrForbidden):
		http.Error(w, "Forbidden.", http.StatusForbidden)
	default:
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
	}
}
