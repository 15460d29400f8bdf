package apikey_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
)

// memStore is an in-memory apikey.Store that counts its calls.
type memStore struct {
	mu        sync.Mutex
	keys      map[string]apikey.Key
	lookups   int   // KeyByID calls
	touches   int   // TouchKey calls
	fail      error // returned by KeyByID when set
	failTouch error // returned by TouchKey when set (nothing written)
}

func newMemStore() *memStore { return &memStore{keys: map[string]apikey.Key{}} }

func (s *memStore) KeyByID(_ context.Context, id string) (*apikey.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.fail != nil {
		return nil, s.fail
	}
	k, ok := s.keys[id]
	if !ok {
		return nil, fmt.Errorf("memstore: %w", apikey.ErrNotFound)
	}
	return &k, nil
}

func (s *memStore) TouchKey(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touches++
	if s.failTouch != nil {
		return s.failTouch
	}
	k, ok := s.keys[id]
	if !ok {
		return fmt.Errorf("memstore: %w", apikey.ErrNotFound)
	}
	k.LastUsed = at
	s.keys[id] = k
	return nil
}

// add creates a key for user with scopes and returns its plaintext.
func (s *memStore) add(user int64, admin bool, scopes ...apikey.Scope) (string, *apikey.Key) {
	tok, err := apikey.Generate()
	if err != nil {
		panic(err)
	}
	k := apikey.Key{ID: tok.ID, UserID: user, Admin: admin, Name: "test", Hash: apikey.Hash(tok.Plaintext),
		Scopes: scopes, CreatedAt: time.Now()}
	s.update(k)
	return tok.Plaintext, &k
}

func (s *memStore) update(k apikey.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[k.ID] = k
}

func (s *memStore) counts() (lookups, touches int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups, s.touches
}
