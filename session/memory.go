package session

import (
	"context"
	"errors"
	"sync"
	"time"
)

// MemoryIndex is an [Index] kept in memory, for one process: a service with
// several instances keeps its index in the database they share. It is safe
// for concurrent use. Expired entries are dropped as new sessions are
// added.
type MemoryIndex struct {
	mu       sync.Mutex
	sessions map[string]Info // by hash
	swept    time.Time
}

// NewMemoryIndex returns an empty MemoryIndex.
func NewMemoryIndex() *MemoryIndex {
	return &MemoryIndex{sessions: map[string]Info{}}
}

var _ Index = (*MemoryIndex)(nil)

// Add records a new session; a hash already indexed is an error.
func (x *MemoryIndex) Add(_ context.Context, s Info) error {
	if s.Hash == "" {
		return errors.New("session: memory index: empty hash")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.sessions[s.Hash]; ok {
		return errors.New("session: memory index: hash already indexed")
	}
	// Without a sweep, users who never come back would keep their
	// entries forever; once a minute keeps Add cheap.
	if now := time.Now(); now.Sub(x.swept) > time.Minute {
		for h, o := range x.sessions {
			if !o.Expiry.After(now) {
				delete(x.sessions, h)
			}
		}
		x.swept = now
	}
	s.Current = false
	x.sessions[s.Hash] = s
	return nil
}

// Has reports whether hash is indexed.
func (x *MemoryIndex) Has(_ context.Context, hash string) (bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.sessions[hash]
	return ok, nil
}

// Touch records use of a session; an unknown hash gives ErrNotFound.
func (x *MemoryIndex) Touch(_ context.Context, hash string, lastSeen time.Time, ip string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.sessions[hash]
	if !ok {
		return ErrNotFound
	}
	s.LastSeen, s.IP = lastSeen, ip
	x.sessions[hash] = s
	return nil
}

// Remove forgets a session; an unknown hash is not an error.
func (x *MemoryIndex) Remove(_ context.Context, hash string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.sessions, hash)
	return nil
}

// List returns userID's sessions that expire after now.
func (x *MemoryIndex) List(_ context.Context, userID int64, now time.Time) ([]Info, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []Info
	for _, s := range x.sessions {
		if s.UserID == userID && s.Expiry.After(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

// RemoveAll forgets every session of userID and returns their hashes.
func (x *MemoryIndex) RemoveAll(_ context.Context, userID int64) ([]string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var hashes []string
	for h, s := range x.sessions {
		if s.UserID == userID {
			hashes = append(hashes, h)
			delete(x.sessions, h)
		}
	}
	return hashes, nil
}
