package password

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// OnWait hears every slot taken (with the wait) and every ErrBusy, so an
// operator can see the hash queue fill before sign-ins start failing.
func TestOnWait(t *testing.T) {
	var (
		mu    sync.Mutex
		waits []time.Duration
		errs  []error
	)
	h := NewHasher(Options{Params: fastParams, MaxConcurrent: 1, MaxWait: 20 * time.Millisecond,
		OnWait: func(wait time.Duration, err error) {
			mu.Lock()
			defer mu.Unlock()
			waits, errs = append(waits, wait), append(errs, err)
		}})
	if _, err := h.Hash(t.Context(), "pw"); err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || errs[0] != nil || waits[0] != 0 {
		t.Fatalf("a free slot: waits %v, errors %v; want one wait of 0 without error", waits, errs)
	}
	h.slots <- struct{}{} // every slot held
	if _, err := h.Hash(t.Context(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash = %v, want ErrBusy", err)
	}
	<-h.slots
	if len(errs) != 2 || !errors.Is(errs[1], ErrBusy) || waits[1] < 20*time.Millisecond {
		t.Errorf("a busy hasher: waits %v, errors %v; want a second wait ≥ 20ms with ErrBusy", waits, errs)
	}
}
