package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// A flood of distinct keys cannot grow the store past MaxKeys, and cannot
// erase the state of a key that is being limited.
func TestMemoryStoreBoundedUnderFlood(t *testing.T) {
	clk := newClock()
	s := NewMemoryStore(MemoryOptions{MaxKeys: 1000, Now: clk.Now})
	ctx := context.Background()
	limits := mustParse(t, "5 per minute")

	for range 5 {
		s.Allow(ctx, "victim", limits, 1)
	}
	if d, _ := s.Allow(ctx, "victim", limits, 1); d.Allowed {
		t.Fatal("victim not limited before the flood")
	}

	full := 0
	for i := range 20_000 {
		_, err := s.Allow(ctx, "flood-"+strconv.Itoa(i), limits, 1)
		if errors.Is(err, ErrFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
		if i%1000 == 0 {
			clk.Advance(time.Millisecond)
		}
	}
	if n := s.len(); n > 1000 {
		t.Errorf("store holds %d keys, MaxKeys is 1000", n)
	}
	if full == 0 {
		t.Error("no new key was refused although the store was full")
	}
	if d, err := s.Allow(ctx, "victim", limits, 1); err != nil || d.Allowed {
		t.Errorf("victim escaped its limit after the flood: %+v, %v", d, err)
	}

	// Once the flood's keys have recovered (one request each: 12 s), new
	// keys are taken again.
	clk.Advance(13 * time.Second)
	if d, err := s.Allow(ctx, "newcomer", limits, 1); err != nil || !d.Allowed {
		t.Errorf("new key after recovery: %+v, %v", d, err)
	}
	if n := s.len(); n > 1000 {
		t.Errorf("store holds %d keys, MaxKeys is 1000", n)
	}
}

// Peeks and refusals do not create keys, so they cannot fill the store.
func TestMemoryStoreLookingCreatesNothing(t *testing.T) {
	s := NewMemoryStore(MemoryOptions{MaxKeys: 10})
	ctx := context.Background()
	for i := range 100 {
		s.Allow(ctx, "peek-"+strconv.Itoa(i), mustParse(t, "5 per minute"), 0)
		s.Allow(ctx, "huge-"+strconv.Itoa(i), mustParse(t, "5 per minute"), 6)
	}
	if n := s.len(); n != 0 {
		t.Errorf("store holds %d keys after peeks and refusals", n)
	}
}

// Waiting exactly RetryAfter is enough, and waiting noticeably less is not:
// the wait reported is the real one, not a window's end. (It may be short of
// the ideal by nanoseconds, the float tolerance.)
func TestMemoryStoreRetryAfterIsTheRealWait(t *testing.T) {
	for _, spec := range []string{"5 per minute", "7 per minute", "3 per 10 seconds", "100 per hour; 5 per minute"} {
		t.Run(spec, func(t *testing.T) {
			clk := newClock()
			s := NewMemoryStore(MemoryOptions{Now: clk.Now})
			ctx := context.Background()
			limits := mustParse(t, spec)
			var d Decision
			for d.Allowed || d.RetryAfter == 0 {
				var err error
				if d, err = s.Allow(ctx, "k", limits, 1); err != nil {
					t.Fatal(err)
				}
			}
			clk.Advance(d.RetryAfter - time.Microsecond)
			if d2, _ := s.Allow(ctx, "k", limits, 1); d2.Allowed {
				t.Fatalf("admitted 1µs before RetryAfter %v", d.RetryAfter)
			}
			clk.Advance(time.Microsecond)
			if d2, _ := s.Allow(ctx, "k", limits, 1); !d2.Allowed {
				t.Fatalf("refused after RetryAfter %v: %+v", d.RetryAfter, d2)
			}
		})
	}
}

// A key whose limits have recovered starts afresh, and a key charged under
// a limit it no longer uses does not keep that state forever.
func TestMemoryStoreExpiry(t *testing.T) {
	clk := newClock()
	s := NewMemoryStore(MemoryOptions{MaxKeys: 256, Now: clk.Now})
	ctx := context.Background()
	a, b := mustParse(t, "2 per minute"), mustParse(t, "3 per hour")
	s.Allow(ctx, "k", a, 2)
	s.Allow(ctx, "k", b, 1)
	clk.Advance(time.Minute)
	d, _ := s.Allow(ctx, "k", b, 1)
	if d.Results[0].Remaining != 1 {
		t.Errorf("limit b: Remaining = %d, want 1", d.Results[0].Remaining)
	}
	sh := &s.shards[0]
	if e := sh.keys["k"]; e == nil || len(e.cells) != 1 {
		t.Errorf("the recovered limit's state was kept: %+v", e)
	}
	clk.Advance(time.Hour)
	if !sh.sweep(clk.Now().Sub(s.base)) || len(sh.keys) != 0 {
		t.Errorf("recovered key not swept: %d keys", len(sh.keys))
	}
}

func TestMemoryStoreContext(t *testing.T) {
	s := NewMemoryStore(MemoryOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Allow(ctx, "k", mustParse(t, "1/second"), 1); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
}
