package passkey

import (
	"context"
	"errors"
	"sync"
	"time"
)

// MemoryChallenges is a ChallengeStore in memory, for a single process.
// Services with several instances need a shared store (a database table,
// Redis) instead. The zero value is ready to use.
type MemoryChallenges struct {
	// Max bounds how many challenges wait at once (DefaultMaxChallenges
	// when 0); Save refuses more rather than let begun-and-abandoned
	// ceremonies fill memory.
	Max int

	mu sync.Mutex
	m  map[string]memoryChallenge
}

type memoryChallenge struct {
	state   []byte
	expires time.Time
}

// DefaultMaxChallenges is MemoryChallenges' bound when Max is 0.
const DefaultMaxChallenges = 100_000

// ErrFull means MemoryChallenges holds its Max of challenges.
var ErrFull = errors.New("passkey: too many challenges waiting")

// Save implements ChallengeStore. Expired challenges are dropped first.
func (s *MemoryChallenges) Save(_ context.Context, id string, state []byte, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]memoryChallenge)
	}
	max := s.Max
	if max <= 0 {
		max = DefaultMaxChallenges
	}
	if len(s.m) >= max {
		now := time.Now()
		for k, c := range s.m {
			if now.After(c.expires) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= max {
			return ErrFull
		}
	}
	s.m[id] = memoryChallenge{state: append([]byte(nil), state...), expires: expires}
	return nil
}

// Take implements ChallengeStore.
func (s *MemoryChallenges) Take(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[id]
	delete(s.m, id)
	if !ok || time.Now().After(c.expires) {
		return nil, ErrNoChallenge
	}
	return c.state, nil
}
