package password

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Errors returned by Hasher. They are sentinels: test with errors.Is, since
// the returned errors wrap them with context. None of them carries the
// password or the stored hash.
var (
	// ErrBusy means no hashing slot came free within Options.MaxWait.
	// Answer 503 Service Unavailable with a Retry-After header.
	ErrBusy = errors.New("password: too many hashes in progress")

	// ErrTooLong means the password is longer than Options.MaxBytes. It is
	// returned before any hashing, so long inputs cost nothing.
	ErrTooLong = errors.New("password: password too long")

	// ErrUnsupported means the stored hash is in a form this package does
	// not verify (an unknown scheme, argon2d, another argon2 version, an
	// unknown PBKDF2 digest) or asks for more work than the bounds allow.
	ErrUnsupported = errors.New("password: unsupported hash")

	// ErrMalformed means the stored hash cannot be read: bad syntax, bad
	// encoding, or parameters its scheme does not allow.
	ErrMalformed = errors.New("password: malformed hash")
)

// Params are argon2id cost parameters.
type Params struct {
	Memory      uint32 // memory in KiB
	Iterations  uint32 // passes over the memory (argon2's t)
	Parallelism uint8  // lanes (argon2's p)
	SaltLength  uint32 // bytes of random salt
	KeyLength   uint32 // bytes of derived key
}

// DefaultParams returns the OWASP Password Storage Cheat Sheet choice for
// argon2id: 19 MiB of memory, 2 iterations, 1 lane, a 16-byte salt and a
// 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// withDefaults fills each zero field from DefaultParams and raises values
// below argon2's minimums (8-byte salt, 4-byte key, 8 KiB per lane), so a
// Hasher never asks x/crypto/argon2 for something it would panic on.
func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Iterations == 0 {
		p.Iterations = d.Iterations
	}
	if p.Parallelism == 0 {
		p.Parallelism = d.Parallelism
	}
	if p.SaltLength == 0 {
		p.SaltLength = d.SaltLength
	}
	if p.KeyLength == 0 {
		p.KeyLength = d.KeyLength
	}
	p.SaltLength = max(p.SaltLength, argon2MinSalt)
	p.KeyLength = max(p.KeyLength, argon2MinKey)
	p.Memory = max(p.Memory, 8*uint32(p.Parallelism))
	return p
}

// Options configure a Hasher. The zero value gives safe defaults.
type Options struct {
	// Params are the argon2id costs for new hashes. A zero field takes its
	// value from DefaultParams; values below argon2's minimums (8-byte salt,
	// 4-byte key, 8 KiB of memory per lane) are raised to them.
	Params Params

	// MaxConcurrent is how many hashes and verifications may run at once.
	// Each holds Params.Memory (or a legacy hash's memory) while it runs, so
	// this bounds the memory and CPU a burst of logins can take.
	// Zero means runtime.GOMAXPROCS(0).
	MaxConcurrent int

	// MaxWait is how long a caller waits for a slot before ErrBusy.
	// Zero means 5 seconds.
	MaxWait time.Duration

	// MaxBytes is the longest password accepted, in bytes. Longer ones are
	// refused with ErrTooLong before any work. Zero means 1024.
	MaxBytes int

	// OnWait, when set, is told how long each hash or verification waited
	// for a slot, and err: nil when it got one, else the ErrBusy or
	// context error it returns instead. It is for metrics (a queue that
	// waits longer and longer is the first sign of a sign-in flood), so it
	// runs on the caller's path: it must be fast and must not block.
	OnWait func(wait time.Duration, err error)
}

// Hasher hashes new passwords with argon2id and verifies passwords against
// argon2id hashes and the legacy forms listed in the package documentation.
// All its work runs under a concurrency bound. A Hasher is safe for
// concurrent use; make one with NewHasher (the zero Hasher refuses all work).
type Hasher struct {
	params   Params
	slots    chan struct{}
	maxWait  time.Duration
	maxBytes int
	limits   limits
	onWait   func(wait time.Duration, err error)

	// dummy is an argon2id hash with h's parameters, a random salt and a
	// random key that no password derives; VerifyDummy verifies against it.
	dummy string

	// beforeWork, when set (only by tests), runs after a slot is taken and
	// just before the key derivation starts.
	beforeWork func(scheme string)
}

// NewHasher returns a Hasher configured by o.
func NewHasher(o Options) *Hasher {
	h := &Hasher{
		params:   o.Params.withDefaults(),
		maxWait:  o.MaxWait,
		maxBytes: o.MaxBytes,
		onWait:   o.OnWait,
	}
	n := o.MaxConcurrent
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	h.slots = make(chan struct{}, n)
	if h.maxWait <= 0 {
		h.maxWait = 5 * time.Second
	}
	if h.maxBytes <= 0 {
		h.maxBytes = 1024
	}
	h.limits = defaultLimits().fit(h.params)

	salt := make([]byte, h.params.SaltLength)
	key := make([]byte, h.params.KeyLength)
	rand.Read(salt)
	rand.Read(key)
	h.dummy = argon2Hash{variant: argon2id, params: h.params, salt: salt, key: key}.String()
	return h
}

// Params returns the argon2id parameters h uses for new hashes, after
// defaults were applied.
func (h *Hasher) Params() Params { return h.params }

// Hash returns an argon2id hash of password in the PHC string format of the
// reference implementation, for example
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.checkLength(password); err != nil {
		return "", err
	}
	salt := make([]byte, h.params.SaltLength)
	rand.Read(salt) // never fails since Go 1.24
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h.startWork(argon2id.String())
	a := argon2Hash{variant: argon2id, params: h.params, salt: salt}
	a.key = a.derive(password)
	return a.String(), nil
}

// Verify reports whether password matches the stored hash encoded. A
// mismatch is (false, nil). An error means the check could not be done:
// ErrTooLong, ErrMalformed or ErrUnsupported (the stored hash), ErrBusy, or
// the context's error while waiting for a slot. Keys are compared in
// constant time.
//
// After a successful Verify, call NeedsRehash and, if it says so, store a
// fresh Hash of the same password: that is how legacy hashes are upgraded.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, err error) {
	if err := h.checkLength(password); err != nil {
		return false, err
	}
	s, err := h.parse(encoded)
	if err != nil {
		return false, err
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	h.startWork(s.scheme())
	ok, err = s.matches(password)
	if err != nil {
		return false, fmt.Errorf("password: verifying %s hash: %w", s.scheme(), err)
	}
	return ok, nil
}

// VerifyDummy does the same work as verifying password against a hash h
// made, and returns the error Verify would have (ErrTooLong, ErrBusy or the
// context's error). Call it when a sign-in names an unknown account, so
// that neither the response time nor the error reveals whether the account
// exists.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}

// NeedsRehash reports whether encoded should be replaced by a fresh Hash:
// true for every form other than argon2id version 19 with exactly h's
// parameters (memory, iterations, parallelism, salt and key length),
// including hashes that cannot be read at all.
func (h *Hasher) NeedsRehash(encoded string) bool {
	a, err := parseArgon2(encoded)
	if err != nil {
		return true
	}
	return a.variant != argon2id || a.params != h.params
}

// ValidateHash reports whether Verify can check passwords against encoded:
// nil, or an error wrapping ErrMalformed or ErrUnsupported that says why
// not. It does no hashing; use it to vet hashes imported from elsewhere.
func (h *Hasher) ValidateHash(encoded string) error {
	_, err := h.parse(encoded)
	return err
}

// errNotNew is returned by every method of a Hasher not made by NewHasher.
var errNotNew = errors.New("password: Hasher not made by NewHasher")

func (h *Hasher) checkLength(password string) error {
	if h.slots == nil {
		return errNotNew
	}
	if len(password) > h.maxBytes {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLong, h.maxBytes)
	}
	return nil
}

// acquire takes a hashing slot, waiting at most h.maxWait and never past
// ctx. A context that is already done gets no slot even if one is free:
// the caller has gone, so the work would be wasted.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("password: before hashing: %w", err)
	}
	release = func() { <-h.slots }
	select {
	case h.slots <- struct{}{}:
		if h.onWait != nil {
			h.onWait(0, nil)
		}
		return release, nil
	default:
	}
	start := time.Now()
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-t.C:
		err = fmt.Errorf("%w: no slot free within %v", ErrBusy, h.maxWait)
	case <-ctx.Done():
		err = fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	}
	if h.onWait != nil {
		h.onWait(time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	return release, nil
}

func (h *Hasher) startWork(scheme string) {
	if h.beforeWork != nil {
		h.beforeWork(scheme)
	}
}

// storedHash is a parsed hash whose parameters are within the bounds.
type storedHash interface {
	scheme() string
	// matches does the expensive derivation and compares in constant time.
	matches(password string) (bool, error)
}

// parse reads encoded in any supported form and checks its work against
// h.limits. It does no hashing.
func (h *Hasher) parse(encoded string) (storedHash, error) {
	if h.slots == nil {
		return nil, errNotNew
	}
	if len(encoded) > h.limits.encodedBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, h.limits.encodedBytes)
	}
	var (
		s   storedHash
		err error
	)
	switch {
	case encoded == "":
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	case strings.HasPrefix(encoded, "$argon2"):
		var a argon2Hash
		a, err = parseArgon2(encoded)
		if err == nil {
			err = h.limits.checkArgon2(a.params)
		}
		s = a
	case strings.HasPrefix(encoded, "$2"):
		var b bcryptHash
		b, err = parseBcrypt(encoded)
		if err == nil {
			err = h.limits.checkBcrypt(b.cost)
		}
		s = b
	case strings.HasPrefix(encoded, "scrypt:"), strings.HasPrefix(encoded, "scrypt$"):
		var sc scryptHash
		sc, err = parseScrypt(encoded)
		if err == nil {
			err = h.limits.checkScrypt(sc.n, sc.r, sc.p)
		}
		s = sc
	case strings.HasPrefix(encoded, "pbkdf2:"):
		var pb pbkdf2Hash
		pb, err = parsePBKDF2(encoded)
		if err == nil {
			err = h.limits.checkPBKDF2(pb.digest, pb.iterations)
		}
		s = pb
	default:
		return nil, fmt.Errorf("%w: unknown scheme", ErrUnsupported)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}
