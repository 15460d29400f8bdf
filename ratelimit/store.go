package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Result is the state of one limit after a request.
type Result struct {
	Limit Limit
	// Remaining is how many more requests of cost 1 the limit would admit
	// right now.
	Remaining int
	// ResetAfter is how long until the limit has fully recovered (Remaining
	// back to Count) if no other request arrives.
	ResetAfter time.Duration
}

// Decision is the answer to one request, over all of its limits.
type Decision struct {
	Allowed bool
	// RetryAfter is, when not Allowed, the real wait until the same request
	// would be admitted (the longest wait among the limits that refused it).
	RetryAfter time.Duration
	// Results holds one Result per limit, in the order the limits were given.
	Results []Result
}

// Store keeps the state of limits. Implementations are safe for concurrent
// use; package storetest checks one against the behaviour described here.
type Store interface {
	// Allow charges cost against every limit for key, atomically: either
	// every limit admits the request and all are charged, or none is
	// charged.
	//
	// A cost of 0 charges nothing; Allowed then reports whether a request of
	// cost 1 would be admitted now. A cost above a limit's Count can never
	// be admitted; such a Decision has RetryAfter set to that limit's
	// Period.
	//
	// A negative cost is a refund: it lowers what key owes by -cost
	// requests' worth on every limit, never below zero (a refund stores no
	// credit) and never creating state for a key or limit that owes nothing.
	// A refund is always Allowed. To bound an expensive check per key,
	// charge 1 before it and refund with -1 when it succeeds: concurrent
	// checks then cannot outrun the limit, since each holds its unit while
	// it runs, and only failures stay charged. Refund only what was charged.
	Allow(ctx context.Context, key string, limits []Limit, cost int) (Decision, error)
}

// ErrFull is returned (wrapped) by a MemoryStore asked to track a new key
// when it already holds MaxKeys keys, none of which has recovered.
var ErrFull = errors.New("ratelimit: memory store is full")

// minPeriod is the shortest Period a store accepts. Parse never produces
// anything below a second; the bound guards Limits built by hand.
const minPeriod = time.Millisecond

// Validate reports whether a store can enforce l: a Count of 1 to
// 1,000,000,000 and a Period of 1 ms to 36,600 days (about a century).
// Parse only returns valid limits; New and the stores check limits built by
// hand, and a Store written elsewhere should too.
func (l Limit) Validate() error {
	if l.Count < 1 || l.Count > maxCount || l.Period < minPeriod || l.Period > 100*maxPeriod {
		return fmt.Errorf("ratelimit: invalid limit {Count: %d, Period: %v}: want a Count of 1 to %d and a Period of %v to %v",
			l.Count, l.Period, maxCount, minPeriod, 100*maxPeriod)
	}
	return nil
}

func check(limits []Limit) error {
	for _, l := range limits {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// GCRA, as both stores compute it.
//
// GCRA keeps one number per limit, the theoretical arrival time (TAT): the
// moment the limit will be fully recovered. A request of cost c at time now
// pushes it to max(TAT, now) + c·T, where T = Period/Count is the time one
// request "costs"; it is admitted when the new TAT is at most now + Period,
// that is, when at most Count requests' worth of time is outstanding.
//
// We store the same thing as (t, owed): at time t, owed requests' worth of
// time was outstanding, so TAT = t + owed·T. Keeping the outstanding amount
// small, rather than an absolute time in nanoseconds since 1970, keeps the
// arithmetic exact for requests arriving at the same instant: Count requests
// in a burst add exactly Count, in float64 as in Redis's Lua numbers.

// epsilon absorbs float rounding when comparing amounts of requests: far
// below what one request weighs at any Count we accept.
const epsilon = 1e-9

// refill returns what is still owed elapsed after a time when owed was owed.
func refill(l Limit, owed float64, elapsed time.Duration) float64 {
	if elapsed > 0 {
		owed -= float64(elapsed) * float64(l.Count) / float64(l.Period)
	}
	return max(owed, 0)
}

// admit decides one limit: owed is after refill. A cost of 0 asks about a
// request of cost 1 without charging it. Refunds (cost < 0) do not come here.
func admit(l Limit, owed float64, cost int) (ok bool, wait time.Duration) {
	need := max(cost, 1)
	if need > l.Count {
		return false, l.Period
	}
	over := owed + float64(need) - float64(l.Count)
	if over <= epsilon {
		return true, 0
	}
	// Admission allows epsilon of slack, so the wait is until over has come
	// down to half of it: a little short of the ideal (by epsilon/2 of one
	// request's time, nanoseconds), so float noise can neither add a
	// nanosecond to a round wait nor leave the client refused after waiting.
	return false, ceilDuration((over - epsilon/2) * float64(l.Period) / float64(l.Count))
}

// result describes a limit whose debt is owed.
func result(l Limit, owed float64) Result {
	return Result{
		Limit:      l,
		Remaining:  max(int(math.Floor(float64(l.Count)-owed+epsilon)), 0),
		ResetAfter: ceilDuration((owed - epsilon/2) * float64(l.Period) / float64(l.Count)),
	}
}

func ceilDuration(ns float64) time.Duration {
	if ns <= 0 {
		return 0
	}
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(math.Ceil(ns))
}
