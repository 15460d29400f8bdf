package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// Errors of Verify. Status maps each to an HTTP status.
var (
	ErrMissing      = errors.New("webhook: no signature header")             // 401
	ErrMalformed    = errors.New("webhook: malformed signature header")      // 401
	ErrStale        = errors.New("webhook: timestamp outside the tolerance") // 401
	ErrBadSignature = errors.New("webhook: no signature matches")            // 401
	ErrReplay       = errors.New("webhook: delivery already received")       // 409
	ErrTooLarge     = errors.New("webhook: body too large")                  // 413
	ErrUnavailable  = errors.New("webhook: replay store unavailable")        // 503
)

// errRead marks a body the client did not finish sending.
var errRead = errors.New("webhook: reading the body")

// Status returns the HTTP status for an error of Verify: 401, 409, 413 or
// 503 as listed with the errors, 400 for a body the client did not finish
// sending, 200 for nil and 500 for an error not from Verify.
func Status(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrMissing), errors.Is(err, ErrMalformed),
		errors.Is(err, ErrStale), errors.Is(err, ErrBadSignature):
		return http.StatusUnauthorized
	case errors.Is(err, ErrReplay):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, errRead):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// ReplayStore remembers deliveries already accepted. It must be shared by
// every instance that receives the webhook, and Claim must be atomic.
type ReplayStore interface {
	// Claim records id as seen until expiry; it returns false if id was
	// already claimed and has not expired.
	Claim(ctx context.Context, id string, expiry time.Time) (bool, error)
}

const (
	defaultTolerance = 5 * time.Minute
	defaultMaxBody   = 1 << 20
	// replayMargin keeps a claim past the tolerance window, so an instance
	// whose clock is up to this much behind cannot accept a delivery
	// another instance has already forgotten.
	replayMargin = time.Minute
)

// Options configure a Verifier.
type Options struct {
	// Secrets are the HMAC keys: the current one first, then old ones still
	// accepted during a rotation. At least one; none may be empty. Use 32
	// random bytes or more.
	Secrets [][]byte
	// Tolerance is how far the timestamp may be from the receiver's clock,
	// either way; 0 means 5 minutes. At least a second.
	Tolerance time.Duration
	// MaxBody caps the body read and hashed; 0 means 1 MiB.
	MaxBody int64
	// Replay remembers accepted deliveries; required.
	Replay ReplayStore
	// Now replaces time.Now, for tests.
	Now func() time.Time
	// ErrorHandler answers a request Handler refuses; nil writes
	// Status(err) with its status text.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Verifier checks signed webhook requests. It is safe for concurrent use.
type Verifier struct {
	secrets   [][]byte
	tolerance int64 // seconds
	maxBody   int64
	replay    ReplayStore
	now       func() time.Time
	onError   func(w http.ResponseWriter, r *http.Request, err error)
}

// New checks the options and returns a Verifier.
func New(o Options) (*Verifier, error) {
	if len(o.Secrets) == 0 {
		return nil, errors.New("webhook: at least one secret is required")
	}
	v := &Verifier{replay: o.Replay, now: o.Now, onError: o.ErrorHandler}
	for i, s := range o.Secrets {
		if len(s) == 0 {
			return nil, fmt.Errorf("webhook: secret %d is empty", i)
		}
		v.secrets = append(v.secrets, bytes.Clone(s)) // the caller may wipe or reuse its slices
	}
	switch {
	case o.Tolerance == 0:
		o.Tolerance = defaultTolerance
	case o.Tolerance < time.Second:
		return nil, errors.New("webhook: Tolerance must be at least a second (timestamps are whole seconds)")
	}
	v.tolerance = int64(o.Tolerance / time.Second)
	switch {
	case o.MaxBody == 0:
		o.MaxBody = defaultMaxBody
	case o.MaxBody < 0:
		return nil, errors.New("webhook: MaxBody must not be negative")
	}
	v.maxBody = o.MaxBody
	if o.Replay == nil {
		return nil, errors.New("webhook: a ReplayStore is required (NewMemoryReplayStore for a single process)")
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.onError == nil {
		v.onError = func(w http.ResponseWriter, _ *http.Request, err error) {
			code := Status(err)
			http.Error(w, http.StatusText(code), code)
		}
	}
	return v, nil
}

// Verify checks r's signature, timestamp and freshness, and returns the
// body it read (r.Body is consumed). Every error is one of the package's
// Err values, possibly wrapped; Status gives its HTTP status.
func (v *Verifier) Verify(ctx context.Context, r *http.Request) ([]byte, error) {
	values := r.Header.Values(SignatureHeader)
	if len(values) == 0 {
		return nil, ErrMissing
	}
	if len(values) > 1 {
		return nil, malformed("more than one %s header", SignatureHeader)
	}
	h, err := ParseHeader(values[0])
	if err != nil {
		return nil, err
	}
	// Both are far below overflow: now is a real clock, and a timestamp
	// near MaxInt64 is stale either way.
	if age := v.now().Unix() - h.Timestamp; age > v.tolerance || age < -v.tolerance {
		return nil, ErrStale
	}
	body, err := v.readBody(r)
	if err != nil {
		return nil, err
	}
	if !v.matches(h, body) {
		return nil, ErrBadSignature
	}
	expiry := time.Unix(h.Timestamp+v.tolerance, 0).Add(replayMargin)
	fresh, err := v.replay.Claim(ctx, replayID(h.Timestamp, body), expiry)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !fresh {
		return nil, ErrReplay
	}
	return body, nil
}

// matches reports whether a v1 value is the HMAC of the message under one
// of the secrets. Every comparison takes the same time whatever the bytes.
func (v *Verifier) matches(h Header, body []byte) bool {
	for _, secret := range v.secrets {
		want := mac(secret, h.Timestamp, body)
		ok := false
		for _, sig := range h.Signatures {
			ok = hmac.Equal(want, sig) || ok
		}
		if ok {
			return true
		}
	}
	return false
}

// replayID names a delivery: the hex SHA-256 of the signed message
// "<t>.<body>" (see the package documentation for why not the signature).
func replayID(ts int64, body []byte) string {
	d := sha256.New()
	var prefix [24]byte
	d.Write(append(strconv.AppendInt(prefix[:0], ts, 10), '.'))
	d.Write(body)
	return hex.EncodeToString(d.Sum(nil))
}

// readBody reads at most maxBody bytes, refusing a longer body by its
// Content-Length before reading or by the byte after the cap.
func (v *Verifier) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > v.maxBody {
		return nil, ErrTooLarge
	}
	if r.Body == nil {
		return []byte{}, nil
	}
	limit := v.maxBody
	if limit < math.MaxInt64 {
		limit++
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit))
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRead, err)
	}
	if int64(len(body)) > v.maxBody {
		return nil, ErrTooLarge
	}
	return body, nil
}

// Handler verifies each request before next sees it; r.Body is then the
// verified body. A refused request goes to Options.ErrorHandler.
func (v *Verifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := v.Verify(r.Context(), r)
		if err != nil {
			v.onError(w, r, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}
