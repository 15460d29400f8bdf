// Package storetest checks that an implementation of ratelimit.Store
// behaves as the interface says: GCRA's arithmetic, all-or-nothing charges
// over several limits, refunds, atomicity under concurrent use, and what
// it refuses. The memory store and package redisstore run the same cases
// through it, and so can a store written elsewhere:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			New: func(t *testing.T) storetest.Store {
//				return storetest.Store{Store: newMyStore(t), Advance: time.Sleep}
//			},
//			Slack: 2 * time.Second,
//		})
//	}
package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/ratelimit"
)

// Store is one fresh, empty store under test.
type Store struct {
	ratelimit.Store

	// Advance lets d pass for the store: a fake clock's Advance, or
	// time.Sleep for a store that reads a real clock. Required.
	Advance func(d time.Duration)

	// Len, if not nil, returns how many keys the store holds. It lets Run
	// check that looking, refusals and refunds create no state. Optional.
	Len func() int
}

// Harness describes the implementation to Run.
type Harness struct {
	// New returns a fresh, empty store; each case calls it once.
	New func(t *testing.T) Store

	// Slack is how much shorter than the ideal a reported wait may be:
	// float rounding for a store with a fake clock (microseconds), and also
	// the real time that passes between calls for one that uses a real
	// clock (seconds, on a busy machine).
	Slack time.Duration
}

// Run runs every case against h's stores, each in a subtest.
func Run(t *testing.T, h Harness) {
	t.Run("Scenarios", func(t *testing.T) { scenarios(t, h) })
	t.Run("ConcurrentCharges", func(t *testing.T) { concurrentCharges(t, h) })
	t.Run("ChargeBeforeCheck", func(t *testing.T) { chargeBeforeCheck(t, h) })
	t.Run("CreatesNothing", func(t *testing.T) { createsNothing(t, h) })
	t.Run("RefusesBadLimits", func(t *testing.T) { refusesBadLimits(t, h) })
}

// step is one request in a scenario.
type step struct {
	advance   time.Duration // let this much time pass first
	key       string        // "" means "k"
	cost      int
	allowed   bool
	remaining []int         // per limit; nil: not checked
	retry     time.Duration // when refused: the wait, which may come out a little shorter (see checkDecision)
}

var scenarioTable = []struct {
	name   string
	limits string
	steps  []step
}{
	{"exactly Count allowed, then refused with the real wait", "5 per minute", []step{
		{cost: 1, allowed: true, remaining: []int{4}},
		{cost: 1, allowed: true, remaining: []int{3}},
		{cost: 1, allowed: true, remaining: []int{2}},
		{cost: 1, allowed: true, remaining: []int{1}},
		{cost: 1, allowed: true, remaining: []int{0}},
		{cost: 1, allowed: false, remaining: []int{0}, retry: 12 * time.Second},
		{cost: 1, allowed: false, remaining: []int{0}, retry: 12 * time.Second},
	}},
	{"the tightest limit wins and a refusal charges no limit", "3 per minute; 10 per hour", []step{
		{cost: 1, allowed: true, remaining: []int{2, 9}},
		{cost: 1, allowed: true, remaining: []int{1, 8}},
		{cost: 1, allowed: true, remaining: []int{0, 7}},
		{cost: 1, allowed: false, remaining: []int{0, 7}, retry: 20 * time.Second},
		{cost: 1, allowed: false, remaining: []int{0, 7}, retry: 20 * time.Second},
		{cost: 0, allowed: false, remaining: []int{0, 7}, retry: 20 * time.Second},
	}},
	{"a refusal by a later limit does not charge an earlier one", "10 per minute; 2 per hour", []step{
		{cost: 1, allowed: true, remaining: []int{9, 1}},
		{cost: 1, allowed: true, remaining: []int{8, 0}},
		{cost: 1, allowed: false, remaining: []int{8, 0}, retry: 30 * time.Minute},
		{cost: 1, allowed: false, remaining: []int{8, 0}, retry: 30 * time.Minute},
	}},
	{"cost 0 only looks", "5 per minute", []step{
		{cost: 0, allowed: true, remaining: []int{5}},
		{cost: 1, allowed: true, remaining: []int{4}},
		{cost: 0, allowed: true, remaining: []int{4}},
		{cost: 0, allowed: true, remaining: []int{4}},
		{cost: 1, allowed: true, remaining: []int{3}},
	}},
	{"cost above 1", "10 per minute", []step{
		{cost: 4, allowed: true, remaining: []int{6}},
		{cost: 4, allowed: true, remaining: []int{2}},
		{cost: 4, allowed: false, remaining: []int{2}, retry: 12 * time.Second},
		{cost: 2, allowed: true, remaining: []int{0}},
	}},
	{"cost above Count is never admitted", "3 per minute", []step{
		{cost: 4, allowed: false, remaining: []int{3}, retry: time.Minute},
		{cost: 3, allowed: true, remaining: []int{0}},
	}},
	{"keys are independent", "2 per minute", []step{
		{key: "a", cost: 1, allowed: true, remaining: []int{1}},
		{key: "a", cost: 1, allowed: true, remaining: []int{0}},
		{key: "a", cost: 1, allowed: false, remaining: []int{0}, retry: 30 * time.Second},
		{key: "b", cost: 1, allowed: true, remaining: []int{1}},
		{key: "a", cost: 0, allowed: false, remaining: []int{0}, retry: 30 * time.Second},
	}},
	{"no second burst a moment later", "10 per minute", []step{
		{cost: 10, allowed: true, remaining: []int{0}},
		// A fixed window that happened to end here would allow 10 more.
		{advance: time.Second, cost: 1, allowed: false, remaining: []int{0}, retry: 5 * time.Second},
	}},
	{"refills as time passes", "5 per 1 second", []step{
		{cost: 5, allowed: true, remaining: []int{0}},
		{cost: 1, allowed: false, retry: 200 * time.Millisecond},
		{advance: 250 * time.Millisecond, cost: 1, allowed: true},
		{advance: 1100 * time.Millisecond, cost: 1, allowed: true, remaining: []int{4}},
	}},

	// Refunds (negative cost).
	{"a refund gives back what a charge took", "3 per minute", []step{
		{cost: 1, allowed: true, remaining: []int{2}},
		{cost: 1, allowed: true, remaining: []int{1}},
		{cost: 1, allowed: true, remaining: []int{0}},
		{cost: 1, allowed: false, remaining: []int{0}, retry: 20 * time.Second},
		{cost: -1, allowed: true, remaining: []int{1}},
		{cost: 1, allowed: true, remaining: []int{0}},
		{cost: 1, allowed: false, remaining: []int{0}, retry: 20 * time.Second},
	}},
	{"a refund is allowed even when the key is refused", "1 per hour", []step{
		{cost: 1, allowed: true, remaining: []int{0}},
		{cost: 0, allowed: false, remaining: []int{0}, retry: time.Hour},
		{cost: -1, allowed: true, remaining: []int{1}},
		{cost: 0, allowed: true, remaining: []int{1}},
	}},
	{"a refund stores no credit", "3 per minute", []step{
		{cost: 2, allowed: true, remaining: []int{1}},
		{cost: -5, allowed: true, remaining: []int{3}},
		{cost: 1, allowed: true, remaining: []int{2}},
		{cost: -1, allowed: true, remaining: []int{3}},
		{cost: -1, allowed: true, remaining: []int{3}},
		{cost: -5, allowed: true, remaining: []int{3}},
		{cost: 1, allowed: true, remaining: []int{2}},
		{cost: 1, allowed: true, remaining: []int{1}},
		{cost: 1, allowed: true, remaining: []int{0}},
		{cost: 1, allowed: false, remaining: []int{0}, retry: 20 * time.Second},
	}},
	{"a refund applies to every limit", "3 per minute; 10 per hour", []step{
		{cost: 3, allowed: true, remaining: []int{0, 7}},
		{cost: -1, allowed: true, remaining: []int{1, 8}},
		{cost: -2, allowed: true, remaining: []int{3, 10}},
		{cost: 1, allowed: true, remaining: []int{2, 9}},
	}},
	{"a refund of an unknown key gives nothing to spend later", "2 per minute", []step{
		{key: "ghost", cost: -1, allowed: true, remaining: []int{2}},
		{key: "ghost", cost: 1, allowed: true, remaining: []int{1}},
		{key: "ghost", cost: 1, allowed: true, remaining: []int{0}},
		{key: "ghost", cost: 1, allowed: false, remaining: []int{0}, retry: 30 * time.Second},
	}},
	{"a refund after some refill never goes below zero", "2 per 1 second", []step{
		{cost: 1, allowed: true, remaining: []int{1}},
		{advance: 300 * time.Millisecond, cost: -1, allowed: true, remaining: []int{2}},
		{cost: 2, allowed: true, remaining: []int{0}},
		{cost: 1, allowed: false, retry: 500 * time.Millisecond},
	}},
}

func scenarios(t *testing.T, h Harness) {
	for _, tt := range scenarioTable {
		t.Run(tt.name, func(t *testing.T) {
			s := h.New(t)
			limits := mustParse(t, tt.limits)
			for i, st := range tt.steps {
				if st.advance > 0 {
					s.Advance(st.advance)
				}
				key := st.key
				if key == "" {
					key = "k"
				}
				d, err := s.Allow(context.Background(), key, limits, st.cost)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				checkDecision(t, i, h.Slack, st, limits, d)
			}
		})
	}
}

func checkDecision(t *testing.T, i int, slack time.Duration, st step, limits []ratelimit.Limit, d ratelimit.Decision) {
	t.Helper()
	if d.Allowed != st.allowed {
		t.Fatalf("step %d: Allowed = %v, want %v (%+v)", i, d.Allowed, st.allowed, d)
	}
	if len(d.Results) != len(limits) {
		t.Fatalf("step %d: %d results for %d limits", i, len(d.Results), len(limits))
	}
	for j, res := range d.Results {
		if res.Limit != limits[j] {
			t.Errorf("step %d: result %d is for %v, want %v", i, j, res.Limit, limits[j])
		}
		if st.remaining != nil && res.Remaining != st.remaining[j] {
			t.Errorf("step %d: limit %v: Remaining = %d, want %d", i, res.Limit, res.Remaining, st.remaining[j])
		}
		if res.ResetAfter < 0 || res.ResetAfter > res.Limit.Period {
			t.Errorf("step %d: limit %v: ResetAfter = %v out of range", i, res.Limit, res.ResetAfter)
		}
	}
	switch {
	case st.allowed && d.RetryAfter != 0:
		t.Errorf("step %d: admitted with RetryAfter = %v", i, d.RetryAfter)
	case st.allowed:
	case d.RetryAfter > st.retry || d.RetryAfter <= max(st.retry-slack, 0):
		t.Errorf("step %d: RetryAfter = %v, want %v (at most %v less)", i, d.RetryAfter, st.retry, slack)
	}
}

// Many requests at once on one key: exactly the limit gets through.
func concurrentCharges(t *testing.T, h Harness) {
	s := h.New(t)
	limits := mustParse(t, "10 per hour")
	var allowed, errs atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			d, err := s.Allow(context.Background(), "race", limits, 1)
			if err != nil {
				errs.Add(1)
			} else if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if errs.Load() != 0 || allowed.Load() != 10 {
		t.Errorf("allowed %d of 50 (errors %d), want exactly 10", allowed.Load(), errs.Load())
	}
}

// The pattern Store documents for an expensive check (a password): charge
// 1 before it, refund on success. However many attempts arrive at once, no
// more than Count checks run at the same time, no more than Count failures
// are ever checked, and what successes refunded is spendable again.
func chargeBeforeCheck(t *testing.T, h Harness) {
	const count = 5
	limits := []ratelimit.Limit{{Count: count, Period: time.Hour}}
	attempt := func(s Store, succeed bool, inFlight, most, checked, failed *atomic.Int64) error {
		ctx := context.Background()
		d, err := s.Allow(ctx, "account", limits, 1)
		if err != nil || !d.Allowed {
			return err // refused: answered 429 without checking
		}
		checked.Add(1)
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(2 * time.Millisecond) // the expensive check
		inFlight.Add(-1)
		if !succeed {
			failed.Add(1)
			return nil // a failure stays charged
		}
		_, err = s.Allow(ctx, "account", limits, -1)
		return err
	}
	run := func(t *testing.T, n int, succeed func(i int) bool) (s Store, most, checked, failed int64) {
		s = h.New(t)
		var inFlight, mostA, checkedA, failedA, errs atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				if err := attempt(s, succeed(i), &inFlight, &mostA, &checkedA, &failedA); err != nil {
					errs.Add(1)
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		return s, mostA.Load(), checkedA.Load(), failedA.Load()
	}

	t.Run("all wrong: at most Count checked", func(t *testing.T) {
		_, most, checked, _ := run(t, 60, func(int) bool { return false })
		if checked > count || most > count {
			t.Errorf("%d checks (%d at once) for a limit of %d", checked, most, count)
		}
		if checked != count {
			t.Errorf("%d checks, want exactly %d: the budget was not used", checked, count)
		}
	})
	t.Run("mixed: refunds restore the budget", func(t *testing.T) {
		s, most, checked, failed := run(t, 60, func(i int) bool { return i%3 != 0 })
		if most > count || failed > count {
			t.Errorf("%d checks at once and %d failures checked, for a limit of %d", most, failed, count)
		}
		if checked < count {
			t.Errorf("only %d checks ran", checked)
		}
		d, err := s.Allow(context.Background(), "account", limits, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := int64(d.Results[0].Remaining), count-failed; got != want {
			t.Errorf("after %d failures and %d refunded successes: Remaining = %d, want %d", failed, checked-failed, got, want)
		}
	})
}

// Looking, refusals and refunds of keys that owe nothing create no state,
// so none of them can fill a store; a full refund frees what a charge took.
func createsNothing(t *testing.T, h Harness) {
	s := h.New(t)
	if s.Len == nil {
		t.Skip("the store under test cannot count its keys")
	}
	ctx := context.Background()
	limits := mustParse(t, "5 per minute; 50 per hour")
	for _, cost := range []int{0, 6, -1, -100} {
		if _, err := s.Allow(ctx, "nobody", limits, cost); err != nil {
			t.Fatal(err)
		}
		if n := s.Len(); n != 0 {
			t.Fatalf("cost %d on an unknown key: the store holds %d keys, want 0", cost, n)
		}
	}
	if _, err := s.Allow(ctx, "k", limits, 1); err != nil {
		t.Fatal(err)
	}
	if s.Len() == 0 {
		t.Fatal("a charge created no state")
	}
	// A refund for a limit the key was never charged under creates no cell.
	if _, err := s.Allow(ctx, "k", mustParse(t, "7 per day"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Allow(ctx, "k", limits, -1); err != nil {
		t.Fatal(err)
	}
	if n := s.Len(); n != 0 {
		t.Errorf("after a full refund the store holds %d keys, want 0", n)
	}
}

func refusesBadLimits(t *testing.T, h Harness) {
	s := h.New(t)
	ctx := context.Background()
	for _, l := range []ratelimit.Limit{{Count: 0, Period: time.Minute}, {Count: -1, Period: time.Minute},
		{Count: 1, Period: 0}, {Count: 1, Period: -time.Second}, {Count: 1, Period: time.Nanosecond}} {
		for _, cost := range []int{1, 0, -1} {
			if _, err := s.Allow(ctx, "k", []ratelimit.Limit{l}, cost); err == nil {
				t.Errorf("limit %+v, cost %d accepted", l, cost)
			}
		}
	}
	d, err := s.Allow(ctx, "k", nil, 1)
	if err != nil || !d.Allowed || len(d.Results) != 0 {
		t.Errorf("no limits: %+v, %v; want allowed", d, err)
	}
}

func mustParse(t *testing.T, s string) []ratelimit.Limit {
	t.Helper()
	l, err := ratelimit.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
