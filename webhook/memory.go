package webhook

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// ErrFull is returned by a MemoryReplayStore that holds MaxEntries claims
// none of which has expired. Verify reports it as ErrUnavailable (503).
var ErrFull = errors.New("webhook: memory replay store is full")

// MemoryOptions configure a MemoryReplayStore.
type MemoryOptions struct {
	// MaxEntries bounds the claims held; 0 means 100,000. A claim lasts at
	// most twice the tolerance plus a minute (11 minutes by default), so
	// the default holds a sustained 150 deliveries a second.
	MaxEntries int
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// MemoryReplayStore is a ReplayStore for a single process. Several
// instances need a shared store, or each would accept a delivery once.
//
// Expired claims are dropped as new ones arrive, earliest expiry first (a
// heap). When full of live claims it refuses new ones with ErrFull rather
// than forget a live one, which would let that delivery be replayed.
type MemoryReplayStore struct {
	mu     sync.Mutex
	expiry map[string]time.Time
	order  expiryHeap
	max    int
	now    func() time.Time
}

// NewMemoryReplayStore returns an empty store.
func NewMemoryReplayStore(o MemoryOptions) *MemoryReplayStore {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &MemoryReplayStore{expiry: make(map[string]time.Time), max: o.MaxEntries, now: o.Now}
}

// Claim records id until expiry. It returns false if id is held and has not
// expired, and ErrFull when the store is full.
func (s *MemoryReplayStore) Claim(_ context.Context, id string, expiry time.Time) (bool, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.order) > 0 && !now.Before(s.order[0].expiry) {
		// An id has one heap entry: it is pushed only while absent from
		// the map, and leaves the map only here.
		delete(s.expiry, heap.Pop(&s.order).(claim).id)
	}
	if _, held := s.expiry[id]; held {
		return false, nil
	}
	if !now.Before(expiry) {
		return true, nil // nothing left to remember
	}
	if len(s.expiry) >= s.max {
		return false, ErrFull
	}
	s.expiry[id] = expiry
	heap.Push(&s.order, claim{id, expiry})
	return true, nil
}

type claim struct {
	id     string
	expiry time.Time
}

// expiryHeap orders claims by expiry, earliest first.
type expiryHeap []claim

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiry.Before(h[j].expiry) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(claim)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = claim{}
	*h = old[:len(old)-1]
	return e
}
