package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a fake time source for MemoryStore.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 1, 12, 0, 59, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// storeKind is one Store implementation under test. open returns a fresh,
// empty store and a function that lets time pass for it: the fake clock for
// memory, real sleep for Redis (whose clock is the server's).
type storeKind struct {
	name string
	open func(t *testing.T) (Store, func(time.Duration))
	// slack is how much shorter than the ideal a reported wait may be: for
	// memory, float rounding (the wait is rounded so that it is never longer
	// than needed); for Redis, also the real time that passes between calls.
	slack time.Duration
}

func stores(t *testing.T) []storeKind {
	return []storeKind{
		{name: "memory", slack: 10 * time.Microsecond, open: func(t *testing.T) (Store, func(time.Duration)) {
			c := newClock()
			return NewMemoryStore(MemoryOptions{Now: c.Now}), c.Advance
		}},
		{name: "redis", slack: 2 * time.Second, open: func(t *testing.T) (Store, func(time.Duration)) {
			return NewRedisStore(redisClient(t, testenv.Redis(t)), uniquePrefix()), time.Sleep
		}},
	}
}

func redisClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

var prefixes atomic.Int64

// uniquePrefix keeps tests sharing one redis-server apart.
func uniquePrefix() string {
	return fmt.Sprintf("test:%d:%d:", time.Now().UnixNano(), prefixes.Add(1))
}

func mustParse(t testing.TB, s string) []Limit {
	t.Helper()
	l, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
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

func TestStores(t *testing.T) {
	tests := []struct {
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
	}
	for _, kind := range stores(t) {
		t.Run(kind.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					s, advance := kind.open(t)
					limits := mustParse(t, tt.limits)
					for i, st := range tt.steps {
						if st.advance > 0 {
							advance(st.advance)
						}
						key := st.key
						if key == "" {
							key = "k"
						}
						d, err := s.Allow(context.Background(), key, limits, st.cost)
						if err != nil {
							t.Fatalf("step %d: %v", i, err)
						}
						checkDecision(t, i, kind.slack, st, limits, d)
					}
				})
			}
		})
	}
}

func checkDecision(t *testing.T, i int, slack time.Duration, st step, limits []Limit, d Decision) {
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

// Many requests at once on one key: exactly the limit gets through, on both
// stores (for Redis, over many connections).
func TestStoresConcurrent(t *testing.T) {
	limits := mustParse(t, "10 per hour")
	for _, kind := range stores(t) {
		t.Run(kind.name, func(t *testing.T) {
			s, _ := kind.open(t)
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
		})
	}
}

func TestStoresRefuseBadInput(t *testing.T) {
	for _, kind := range stores(t) {
		t.Run(kind.name, func(t *testing.T) {
			s, _ := kind.open(t)
			ctx := context.Background()
			if _, err := s.Allow(ctx, "k", mustParse(t, "1/second"), -1); err == nil {
				t.Error("negative cost accepted")
			}
			for _, l := range []Limit{{0, time.Minute}, {-1, time.Minute}, {1, 0}, {1, -time.Second}, {1, time.Nanosecond}} {
				if _, err := s.Allow(ctx, "k", []Limit{l}, 1); err == nil {
					t.Errorf("limit %+v accepted", l)
				}
			}
			d, err := s.Allow(ctx, "k", nil, 1)
			if err != nil || !d.Allowed || len(d.Results) != 0 {
				t.Errorf("no limits: %+v, %v; want allowed", d, err)
			}
		})
	}
}
