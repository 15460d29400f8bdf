package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// MemoryOptions configure a MemoryStore.
type MemoryOptions struct {
	// MaxKeys bounds the keys held; 0 means 100_000 (a few tens of MB at most).
	MaxKeys int
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// MemoryStore keeps limits in this process: right for a single instance.
// Several instances behind a load balancer need a shared store (package
// redisstore), or each would allow the whole limit.
//
// The map is split into shards, each with its own lock, so requests for
// different keys rarely wait for each other.
//
// # At the cap
//
// A key whose limits have all recovered holds no information and may go. The
// store drops such keys when it meets them and, when a shard is full, sweeps
// the shard for them before taking a new key. If none has recovered, the new
// key is refused: Allow returns an error wrapping ErrFull, which a Limiter
// treats like any store failure (503, or let through with FailOpen), and it
// logs it. Keys already tracked keep working.
//
// The store never evicts a key that still owes anything. Evicting the least
// recently used key instead would let anyone who can send requests from many
// addresses erase the state of an address that is being limited — their own
// or a victim's — which is the one thing a limiter must not forget.
// Refusing is rarely reached: a key that made one request is dropped after
// Period/Count (0.6 s under "100 per minute"), not a whole window, and one
// whose charge was refunded in full is dropped at once, so filling 100,000
// keys takes a sustained flood from that many addresses. Keys a client can
// make up at will are the exception: a key per email typed at sign-in, kept
// for Period/Count of a slow limit (6 minutes under "10 per hour"), lets one
// client fill the store. Give such keys only to what exists (a known
// account) and one shared key to the rest.
type MemoryStore struct {
	shards []memShard
	seed   maphash.Seed
	now    func() time.Time
	base   time.Time // times are kept as durations since base
}

type memShard struct {
	mu   sync.Mutex
	keys map[string]*memEntry
	cap  int
	// nextSweep is a time before which no key of the shard can have
	// recovered, so a sweep would find nothing: the earliest recovery time
	// seen at the last sweep, lowered by every charge since.
	nextSweep time.Duration
}

// memEntry is the state of one key: one cell per limit it was charged under.
type memEntry struct {
	cells []memCell
	until time.Duration // when every cell has recovered
}

type memCell struct {
	limit Limit
	at    time.Duration // time of the last charge
	owed  float64       // requests' worth of time outstanding at `at`
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(o MemoryOptions) *MemoryStore {
	if o.MaxKeys <= 0 {
		o.MaxKeys = 100_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	// 64 shards for large stores; fewer for small ones, so that the per-shard
	// cap (MaxKeys/shards) stays meaningful.
	n := 64
	for n > 1 && o.MaxKeys/n < 256 {
		n /= 2
	}
	s := &MemoryStore{shards: make([]memShard, n), seed: maphash.MakeSeed(), now: o.Now, base: o.Now()}
	for i := range s.shards {
		s.shards[i].keys = make(map[string]*memEntry)
		s.shards[i].cap = o.MaxKeys / n
	}
	return s
}

// Allow implements Store.
func (s *MemoryStore) Allow(ctx context.Context, key string, limits []Limit, cost int) (Decision, error) {
	if err := check(limits); err != nil {
		return Decision{}, err
	}
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", err)
	}
	now := s.now().Sub(s.base)
	// #nosec G115 -- len(s.shards) is a power of two, at least 1
	sh := &s.shards[maphash.String(s.seed, key)&uint64(len(s.shards)-1)]
	sh.mu.Lock()
	defer sh.mu.Unlock()

	e := sh.keys[key]
	if e != nil && e.until <= now {
		e.cells = e.cells[:0] // recovered: forget lazily
	}
	if cost < 0 {
		return sh.refund(key, e, now, limits, cost), nil
	}

	var buf [4]float64
	owed := buf[:0]
	d := Decision{Allowed: true, Results: make([]Result, len(limits))}
	for _, l := range limits {
		o := 0.0
		if c := e.find(l); c != nil {
			o = refill(l, c.owed, now-c.at)
		}
		if ok, wait := admit(l, o, cost); !ok {
			d.Allowed = false
			d.RetryAfter = max(d.RetryAfter, wait)
		}
		owed = append(owed, o)
	}
	charge := d.Allowed && cost > 0
	if charge && e == nil {
		if len(sh.keys) >= sh.cap && !sh.sweep(now) {
			return Decision{}, fmt.Errorf("ratelimit: cannot track a new key: %w", ErrFull)
		}
		e = &memEntry{}
		sh.keys[key] = e
	}
	for i, l := range limits {
		o := owed[i]
		if charge {
			o += float64(cost)
			c := e.find(l)
			if c == nil {
				e.cells = append(e.cells, memCell{limit: l})
				c = &e.cells[len(e.cells)-1]
			}
			c.at, c.owed = now, o
		}
		d.Results[i] = result(l, o)
	}
	if charge {
		e.update(now)
		sh.nextSweep = min(sh.nextSweep, e.until)
	}
	return d, nil
}

// refund lowers what key owes by -cost on each limit it has a cell for,
// never below zero, and creates nothing. A key that owes nothing afterwards
// is dropped at once, so refunds free memory.
func (sh *memShard) refund(key string, e *memEntry, now time.Duration, limits []Limit, cost int) Decision {
	d := Decision{Allowed: true, Results: make([]Result, len(limits))}
	for i, l := range limits {
		o := 0.0
		if c := e.find(l); c != nil {
			o = max(refill(l, c.owed, now-c.at)+float64(cost), 0)
			c.at, c.owed = now, o
		}
		d.Results[i] = result(l, o)
	}
	if e != nil {
		e.update(now)
		if e.until <= now {
			delete(sh.keys, key)
		} else {
			// A refund brings the key's recovery forward; keep nextSweep a
			// lower bound of every key's recovery time.
			sh.nextSweep = min(sh.nextSweep, e.until)
		}
	}
	return d
}

func (e *memEntry) find(l Limit) *memCell {
	if e == nil {
		return nil
	}
	for i := range e.cells {
		if e.cells[i].limit == l {
			return &e.cells[i]
		}
	}
	return nil
}

// update drops recovered cells (limits this key is no longer charged under)
// and recomputes when the whole entry will have recovered.
func (e *memEntry) update(now time.Duration) {
	e.until = now
	kept := e.cells[:0]
	for _, c := range e.cells {
		end := c.at + ceilDuration(c.owed*float64(c.limit.Period)/float64(c.limit.Count))
		if end > now {
			kept = append(kept, c)
			e.until = max(e.until, end)
		}
	}
	e.cells = kept
}

// sweep removes recovered keys and reports whether there is now room.
func (sh *memShard) sweep(now time.Duration) bool {
	if now < sh.nextSweep {
		return false
	}
	next := time.Duration(math.MaxInt64)
	for k, e := range sh.keys {
		if e.until <= now {
			delete(sh.keys, k)
		} else {
			next = min(next, e.until)
		}
	}
	sh.nextSweep = next
	return len(sh.keys) < sh.cap
}

// len returns the number of keys held, for tests.
func (s *MemoryStore) len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.Lock()
		n += len(s.shards[i].keys)
		s.shards[i].mu.Unlock()
	}
	return n
}
