package apikey_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	store *memStore
	clock *clock
	auth  *apikey.Authenticator
	h     http.Handler
	errs  []error // what the ErrorHandler got
	mu    sync.Mutex
}

// setup builds an Authenticator over a counting memStore, in front of
// /me (any key), /files (files:read) and /users (users:write).
func setup(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{store: newMemStore(), clock: &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}}
	var err error
	f.auth, err = apikey.New(apikey.Options{
		Store: f.store,
		Now:   f.clock.Now,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			f.mu.Lock()
			f.errs = append(f.errs, err)
			f.mu.Unlock()
			status := http.StatusServiceUnavailable
			switch {
			case errors.Is(err, apikey.ErrMissing), errors.Is(err, apikey.ErrInvalid):
				status = http.StatusUnauthorized
			case errors.Is(err, apikey.ErrForbidden):
				status = http.StatusForbidden
			}
			http.Error(w, err.Error(), status)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		k, ok := apikey.FromContext(r.Context())
		if !ok {
			http.Error(w, "no key in context", 500)
			return
		}
		fmt.Fprintf(w, "user %d scopes %v", k.UserID, k.Scopes)
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	mux.Handle("/files", f.auth.Require(apikey.FilesRead, ok))
	mux.Handle("/users", f.auth.Require(apikey.UsersWrite, ok))
	f.h = f.auth.Handler(mux)
	return f
}

// do sends a request to path with the given header lines ("Name: value").
func (f *fixture) do(path string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://api.test"+path, nil)
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ": ")
		r.Header.Add(name, value)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}

func (f *fixture) lastErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) == 0 {
		return nil
	}
	return f.errs[len(f.errs)-1]
}

const (
	challenge        = `Bearer realm="api"`
	invalidChallenge = `Bearer realm="api", error="invalid_token"`
)

func TestKeyInHeaderOrBearer(t *testing.T) {
	f := setup(t)
	key, _ := f.store.add(7, false, apikey.FilesRead)
	for _, h := range []string{"X-API-Key: " + key, "x-api-key: " + key, "Authorization: Bearer " + key,
		"Authorization: bearer " + key, "Authorization: BEARER   " + key + " "} {
		rec := f.do("/me", h)
		if rec.Code != 200 || rec.Body.String() != "user 7 scopes [files:read]" {
			t.Errorf("%q: %d %q", h[:20], rec.Code, rec.Body)
		}
	}
	// X-API-Key wins over Authorization (which may carry something else).
	if rec := f.do("/me", "X-API-Key: "+key, "Authorization: Basic dXNlcjpwdw=="); rec.Code != 200 {
		t.Errorf("X-API-Key with Basic Authorization: %d", rec.Code)
	}
}

// Remove the Parse call's checksum check (take the id as key[4:12]) and
// the Store is asked for the typo.
func TestTypoNeverReachesStore(t *testing.T) {
	f := setup(t)
	key, _ := f.store.add(1, false, apikey.FilesRead)
	changed := key[:len(key)-1] + "a"
	if changed == key {
		changed = key[:len(key)-1] + "b"
	}
	i := 20 // swap two different neighbouring characters of the secret
	for key[i] == key[i+1] {
		i++
	}
	swapped := key[:i] + string(key[i+1]) + string(key[i]) + key[i+2:]
	for _, bad := range []string{
		changed,
		key[:len(key)-1], // truncated
		swapped,
		"bwk_" + strings.Repeat("A", apikey.KeyLen-4), // well-formed shape, bad checksum
		"ghp_" + key[4:], // another vendor's prefix
		key + "x",
		strings.Replace(key, key[10:11], "-", 1),
	} {
		if bad == key {
			t.Fatalf("test bug: %q is the key", bad)
		}
		rec := f.do("/me", "X-API-Key: "+bad)
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != invalidChallenge {
			t.Errorf("%q: %d, WWW-Authenticate %q", bad, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		if !errors.Is(f.lastErr(), apikey.ErrInvalid) {
			t.Errorf("%q: err %v, want ErrInvalid", bad, f.lastErr())
		}
	}
	if lookups, _ := f.store.counts(); lookups != 0 {
		t.Fatalf("the Store was asked %d times for malformed keys; want 0", lookups)
	}
}

// Remove the hash comparison in Authenticate and a key with a known id and
// any secret gets in.
func TestWrongSecretOrUnknownID(t *testing.T) {
	f := setup(t)
	key, k := f.store.add(1, false, apikey.FilesRead)
	other, err := apikey.Generate()
	if err != nil {
		t.Fatal(err)
	}
	// The right id with another secret, correctly checksummed.
	forged := apikey.Sign(key[:4+apikey.IDLen] + other.Plaintext[4+apikey.IDLen:apikey.KeyLen-6])
	if _, err := apikey.Parse(forged); err != nil || forged == key {
		t.Fatalf("test bug: forged key %q: %v", forged, err)
	}
	for name, bad := range map[string]string{"wrong secret": forged, "unknown id": other.Plaintext} {
		rec := f.do("/me", "Authorization: Bearer "+bad)
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != invalidChallenge {
			t.Errorf("%s: %d, WWW-Authenticate %q", name, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		// One error for both: no oracle.
		if f.lastErr() != apikey.ErrInvalid {
			t.Errorf("%s: err %v, want exactly ErrInvalid", name, f.lastErr())
		}
	}
	// A store that returns a key under another id is not believed.
	f.store.update(apikey.Key{ID: other.ID, UserID: 2, Hash: k.Hash, Scopes: k.Scopes})
	if rec := f.do("/me", "X-API-Key: "+forged); rec.Code != 401 {
		t.Errorf("hash of another key: %d", rec.Code)
	}
}

// Remove the Revoked check in Authenticate and this fails.
func TestRevokedKeyStopsAtOnce(t *testing.T) {
	f := setup(t)
	key, k := f.store.add(1, false, apikey.FilesRead)
	if rec := f.do("/files", "X-API-Key: "+key); rec.Code != 200 {
		t.Fatalf("before revocation: %d", rec.Code)
	}
	k.RevokedAt = f.clock.Now()
	f.store.update(*k)
	// The very next request: no cache can keep the key alive.
	rec := f.do("/files", "X-API-Key: "+key)
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != invalidChallenge {
		t.Fatalf("revoked key: %d, WWW-Authenticate %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	if f.lastErr() != apikey.ErrInvalid {
		t.Fatalf("revoked key: err %v, want ErrInvalid", f.lastErr())
	}
}

// Remove the Expired check in Authenticate and this fails.
func TestExpiredKey(t *testing.T) {
	f := setup(t)
	key, k := f.store.add(1, false, apikey.FilesRead)
	k.ExpiresAt = f.clock.Now().Add(time.Hour)
	f.store.update(*k)
	if rec := f.do("/files", "X-API-Key: "+key); rec.Code != 200 {
		t.Fatalf("before expiry: %d", rec.Code)
	}
	f.clock.Add(time.Hour) // exactly at ExpiresAt: expired
	if rec := f.do("/files", "X-API-Key: "+key); rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != invalidChallenge {
		t.Fatalf("expired key: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// Remove the k.Has check in Require and the 403s become 200s.
func TestMissingScope(t *testing.T) {
	f := setup(t)
	reader, _ := f.store.add(1, false, apikey.UsersRead)
	rec := f.do("/files", "X-API-Key: "+reader)
	if rec.Code != 403 {
		t.Fatalf("users:read key on a files:read route: %d", rec.Code)
	}
	var se *apikey.ScopeError
	if err := f.lastErr(); !errors.As(err, &se) || se.Scope != apikey.FilesRead || !errors.Is(err, apikey.ErrForbidden) {
		t.Fatalf("err %v, want *ScopeError{files:read} wrapping ErrForbidden", err)
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer realm="api", error="insufficient_scope", scope="files:read"` {
		t.Errorf("403 WWW-Authenticate %q", got)
	}
	// users:write counts only while the owner is an administrator.
	demoted, k := f.store.add(2, false, apikey.UsersWrite)
	if rec := f.do("/users", "X-API-Key: "+demoted); rec.Code != 403 {
		t.Fatalf("users:write key of a non-admin: %d", rec.Code)
	}
	k.Admin = true
	f.store.update(*k)
	if rec := f.do("/users", "X-API-Key: "+demoted); rec.Code != 200 {
		t.Fatalf("users:write key of an admin: %d", rec.Code)
	}
}

// Remove the WWW-Authenticate lines of refuse and this fails.
func TestMissingKeyChallenges(t *testing.T) {
	f := setup(t)
	for _, h := range [][]string{nil, {"Authorization: Basic dXNlcjpwdw=="}, {"X-API-Key: "}, {"Authorization: Bearer "}} {
		rec := f.do("/me", h...)
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != challenge {
			t.Errorf("%q: %d, WWW-Authenticate %q", h, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
		if !errors.Is(f.lastErr(), apikey.ErrMissing) {
			t.Errorf("%q: err %v, want ErrMissing", h, f.lastErr())
		}
	}
	// Require without Handler in front fails closed.
	a, _ := apikey.New(apikey.Options{Store: newMemStore()})
	rec := httptest.NewRecorder()
	a.Require(apikey.FilesRead, http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 {
		t.Errorf("Require alone: %d, want 401", rec.Code)
	}
}

func TestTwoKeysRefused(t *testing.T) {
	f := setup(t)
	key, _ := f.store.add(1, false, apikey.FilesRead)
	other, _ := f.store.add(2, false, apikey.FilesRead)
	if rec := f.do("/me", "X-API-Key: "+key, "X-API-Key: "+other); rec.Code != 401 {
		t.Errorf("two X-API-Key headers: %d", rec.Code)
	}
	if rec := f.do("/me", "Authorization: Bearer "+key, "Authorization: Bearer "+other); rec.Code != 401 {
		t.Errorf("two Authorization headers: %d", rec.Code)
	}
}

// Remove either interval check in touch (the stored time, or the
// in-process record) and TouchKey is called more often.
func TestLastUseWrittenOncePerInterval(t *testing.T) {
	f := setup(t)
	key, _ := f.store.add(1, false, apikey.FilesRead)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 25 {
				if rec := f.do("/files", "X-API-Key: "+key); rec.Code != 200 {
					t.Errorf("%d", rec.Code)
				}
			}
		})
	}
	wg.Wait()
	lookups, touches := f.store.counts()
	if lookups != 200 || touches != 1 {
		t.Fatalf("200 requests in one interval: %d lookups, %d touches; want 200 and 1", lookups, touches)
	}
	f.clock.Add(59 * time.Second)
	f.do("/files", "X-API-Key: "+key)
	if _, touches = f.store.counts(); touches != 1 {
		t.Fatalf("59 s later: %d touches, want 1", touches)
	}
	f.clock.Add(time.Second)
	for range 10 {
		f.do("/files", "X-API-Key: "+key)
	}
	if _, touches = f.store.counts(); touches != 2 {
		t.Fatalf("one interval later: %d touches, want 2", touches)
	}
	// A failing write is not retried per request (nor when the stored
	// time lags behind, as on a replica): one attempt per interval.
	h := setup(t)
	h.store.failTouch = errors.New("disk full")
	key3, _ := h.store.add(1, false, apikey.FilesRead)
	for range 20 {
		if rec := h.do("/files", "X-API-Key: "+key3); rec.Code != 200 {
			t.Fatalf("a failed last-use write refused the request: %d", rec.Code)
		}
	}
	if _, touches := h.store.counts(); touches != 1 {
		t.Fatalf("failing writes: %d attempts for 20 requests, want 1", touches)
	}
	// Another process wrote it recently (the stored time is fresh): this
	// one does not write.
	g := setup(t)
	key2, k := g.store.add(1, false, apikey.FilesRead)
	k.LastUsed = g.clock.Now().Add(-30 * time.Second)
	g.store.update(*k)
	g.do("/files", "X-API-Key: "+key2)
	if _, touches := g.store.counts(); touches != 0 {
		t.Fatalf("stored last use 30 s old: %d touches, want 0", touches)
	}
}

// Remove the ErrUnavailable branch (treat every store error as "not
// found") and an outage looks like a bad key; let it through and it is
// worse.
func TestStoreFailureFailsClosed(t *testing.T) {
	f := setup(t)
	key, _ := f.store.add(1, false, apikey.FilesRead)
	down := errors.New("connection refused")
	f.store.fail = down
	rec := f.do("/files", "X-API-Key: "+key)
	if rec.Code != 503 || !errors.Is(f.lastErr(), apikey.ErrUnavailable) || !errors.Is(f.lastErr(), down) {
		t.Fatalf("store down: %d, err %v", rec.Code, f.lastErr())
	}
}

func TestDefaultErrorHandler(t *testing.T) {
	st := newMemStore()
	key, _ := st.add(1, false, apikey.FilesRead)
	a, err := apikey.New(apikey.Options{Store: st, Realm: "bulwark"})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler(a.Require(apikey.UsersRead, http.NotFoundHandler()))
	for _, c := range []struct {
		header string
		code   int
		auth   string
	}{
		{"", 401, `Bearer realm="bulwark"`},
		{"X-API-Key: bwk_nope", 401, `Bearer realm="bulwark", error="invalid_token"`},
		{"X-API-Key: " + key, 403, `Bearer realm="bulwark", error="insufficient_scope", scope="users:read"`},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if name, value, ok := strings.Cut(c.header, ": "); ok {
			r.Header.Set(name, value)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.code || rec.Header().Get("WWW-Authenticate") != c.auth ||
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
			t.Errorf("%q: %d %q %q", c.header, rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Header().Get("Content-Type"))
		}
		if strings.Contains(rec.Body.String(), key) {
			t.Errorf("the answer echoes the key")
		}
	}
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]apikey.Options{
		"no store":       {},
		"negative touch": {Store: newMemStore(), TouchInterval: -time.Second},
		"quoted realm":   {Store: newMemStore(), Realm: `a"b`},
		"newline realm":  {Store: newMemStore(), Realm: "a\nb"},
	} {
		if _, err := apikey.New(o); err == nil || !strings.HasPrefix(err.Error(), "apikey: ") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}
