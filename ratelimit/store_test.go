package ratelimit_test

import (
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/ratelimit/storetest"
)

// The cases every Store must pass, on the memory store with a fake clock.
// Package redisstore runs the same cases against a real redis-server.
func TestMemoryStore(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		// Float rounding only: the wait is rounded so that it is never
		// longer than needed.
		Slack: 10 * time.Microsecond,
		New: func(t *testing.T) storetest.Store {
			c := &fakeClock{t: time.Date(2030, 1, 1, 12, 0, 59, 0, time.UTC)}
			s := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Now: c.Now})
			return storetest.Store{Store: s, Advance: c.Advance, Len: func() int { return ratelimit.MemoryLen(s) }}
		},
	})
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
