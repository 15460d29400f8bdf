package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// countingObserver counts what a Limiter reports, per policy name.
type countingObserver struct {
	mu      sync.Mutex
	refused map[string]int
	failed  map[string]int
}

func newCountingObserver() *countingObserver {
	return &countingObserver{refused: map[string]int{}, failed: map[string]int{}}
}

func (o *countingObserver) Refused(_ context.Context, name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused[name]++
}

func (o *countingObserver) StoreFailed(_ context.Context, name string, _ error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed[name]++
}

// The observer hears every refusal, from the middleware and from Allow,
// but not refunds; and every store failure, also when failing open.
func TestObserver(t *testing.T) {
	obs := newCountingObserver()
	l := memLimiter(t, "2 per minute", Options{Name: "login", Observer: obs})
	h := l.Handler(okHandler)
	for range 5 {
		serve(h, "192.0.2.1:1")
	}
	if obs.refused["login"] != 3 {
		t.Errorf("middleware: %d refusals observed, want 3", obs.refused["login"])
	}
	ctx := context.Background()
	for range 3 {
		l.Allow(ctx, "acct:1", 1)
	}
	if obs.refused["login"] != 4 {
		t.Errorf("Allow on a spent budget: %d refusals, want 4", obs.refused["login"])
	}
	l.Allow(ctx, "acct:1", -1) // a refund is never a refusal
	if obs.refused["login"] != 4 {
		t.Errorf("a refund was observed as a refusal")
	}

	open := mustNew(t, Options{Store: failingStore{}, Limits: mustParse(t, "5/minute"), Name: "default",
		FailOpen: true, Observer: obs})
	if rec := serve(open.Handler(okHandler), "192.0.2.1:1"); rec.Code != http.StatusOK {
		t.Fatalf("fail open: %d", rec.Code)
	}
	if obs.failed["default"] != 1 {
		t.Errorf("store failure while failing open: %d observed, want 1", obs.failed["default"])
	}
}

// printObserver prints what it hears, as a metrics counter would count it.
type printObserver struct{}

func (printObserver) Refused(_ context.Context, name string) { fmt.Println("refused by", name) }

func (printObserver) StoreFailed(_ context.Context, name string, err error) {
	fmt.Println("store failed for", name)
}

// An Observer feeds a metrics library: refusals per policy, never per key.
func ExampleObserver() {
	lim, err := New(Options{
		Store:    NewMemoryStore(MemoryOptions{}),
		Limits:   MustParse("1 per hour"),
		Name:     "login",
		Observer: printObserver{},
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	lim.Allow(ctx, "ip:192.0.2.1", 1)
	lim.Allow(ctx, "ip:192.0.2.1", 1)
	// Output: refused by login
}
