package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	current = []byte("current-secret-0123456789abcdef0123456789")
	old     = []byte("previous-secret-0123456789abcdef012345678")
	retired = []byte("retired-secret-0123456789abcdef0123456789")
)

// clock is a settable time, shared by a Verifier and its store.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := new(clock)
	c.set(time.Unix(1_700_000_000, 0))
	return c
}
func (c *clock) now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *clock) set(t time.Time)     { c.t.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func newVerifier(t testing.TB, c *clock, secrets ...[]byte) *Verifier {
	t.Helper()
	v, err := New(Options{
		Secrets: secrets,
		Now:     c.now,
		Replay:  NewMemoryReplayStore(MemoryOptions{Now: c.now}),
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signed(header string, body []byte) *http.Request {
	r := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
	if header != "" {
		r.Header.Set(SignatureHeader, header)
	}
	return r
}

func mustVerify(t *testing.T, v *Verifier, r *http.Request, want error) []byte {
	t.Helper()
	body, err := v.Verify(context.Background(), r)
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("Verify = %v, want %v", err, want)
	}
	if err != nil && body != nil {
		t.Fatalf("a refused request returned its body")
	}
	return body
}

// The value computed by another implementation (openssl dgst -sha256 -hmac).
func TestSignVector(t *testing.T) {
	got := Sign([]byte("whsec_example"), time.Unix(1700000000, 0), []byte(`{"event":"ping"}`))
	want := "t=1700000000,v1=600623fb34dc3d02d7a4cd28e53f5bb9bc6c186fb17c7098d4a8cd58e619c089"
	if got != want {
		t.Errorf("Sign = %s\nwant   %s", got, want)
	}
	// The replay id: sha256sum of "1700000000.{"event":"ping"}".
	if id := replayID(1700000000, []byte(`{"event":"ping"}`)); id != "5453d884639c635223703d58e2683d9195c622a038268bdbe1b1616104e73745" {
		t.Errorf("replayID = %s", id)
	}
}

func TestVerify(t *testing.T) {
	c := newClock()
	v := newVerifier(t, c, current)
	body := []byte(`{"event":"user.created","id":42}`)
	got := mustVerify(t, v, signed(Sign(current, c.now(), body), body), nil)
	if !bytes.Equal(got, body) {
		t.Errorf("body = %q", got)
	}
}

func TestReplay(t *testing.T) {
	c := newClock()
	v := newVerifier(t, c, current)
	body := []byte(`{"event":"payment","amount":100}`)
	h := Sign(current, c.now(), body)
	mustVerify(t, v, signed(h, body), nil)

	c.add(10 * time.Second)
	r := signed(h, body)
	_, err := v.Verify(context.Background(), r)
	if !errors.Is(err, ErrReplay) || Status(err) != http.StatusConflict {
		t.Fatalf("replay: %v (%d)", err, Status(err))
	}

	// The same delivery with its v1 values reordered, or with an extra
	// scheme, is the same delivery.
	sig := strings.TrimPrefix(h, fmt.Sprintf("t=%d,", c.now().Add(-10*time.Second).Unix()))
	other := strings.Repeat("ab", 32)
	mustVerify(t, v, signed(fmt.Sprintf("t=%d,v1=%s,%s,v0=x", c.now().Add(-10*time.Second).Unix(), other, sig), body), ErrReplay)

	// Right up to the end of the window, and beyond it the delivery is stale.
	c.add(5*time.Minute - 10*time.Second)
	mustVerify(t, v, signed(h, body), ErrReplay)
	c.add(time.Second)
	mustVerify(t, v, signed(h, body), ErrStale)

	// A resend signed anew is a new delivery.
	mustVerify(t, v, signed(Sign(current, c.now(), body), body), nil)
}

// During a rotation a sender signs with both secrets. Stripping the header
// down to the old secret's value must not make a captured delivery new.
func TestReplayAcrossSecrets(t *testing.T) {
	c := newClock()
	v := newVerifier(t, c, current, old)
	body := []byte(`{"event":"transfer"}`)
	withCurrent := Sign(current, c.now(), body)
	withOld := Sign(old, c.now(), body)
	both := withCurrent + "," + strings.SplitN(withOld, ",", 2)[1]
	mustVerify(t, v, signed(both, body), nil)
	mustVerify(t, v, signed(withOld, body), ErrReplay)
	mustVerify(t, v, signed(withCurrent, body), ErrReplay)
}

func TestBodyChanged(t *testing.T) {
	c := newClock()
	v := newVerifier(t, c, current)
	body := []byte(`{"event":"payment","amount":100}`)
	h := Sign(current, c.now(), body)
	for i := range body {
		changed := bytes.Clone(body)
		changed[i] ^= 1
		_, err := v.Verify(context.Background(), signed(h, changed))
		if !errors.Is(err, ErrBadSignature) || Status(err) != http.StatusUnauthorized {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	mustVerify(t, v, signed(h, append(bytes.Clone(body), ' ')), ErrBadSignature)
	mustVerify(t, v, signed(h, body[:len(body)-1]), ErrBadSignature)
	// The signature is over the timestamp too.
	later := fmt.Sprintf("t=%d,%s", c.now().Unix()+1, strings.SplitN(h, ",", 2)[1])
	mustVerify(t, v, signed(later, body), ErrBadSignature)
	// A failed check claims nothing: the genuine delivery still passes.
	mustVerify(t, v, signed(h, body), nil)
}

func TestTimestamps(t *testing.T) {
	c := newClock()
	v := newVerifier(t, c, current)
	body := []byte(`{}`)
	for _, tc := range []struct {
		offset time.Duration
		want   error
	}{
		{-time.Hour, ErrStale},
		{-5*time.Minute - time.Second, ErrStale},
		{-5 * time.Minute, nil},
		{5 * time.Minute, nil},
		{5*time.Minute + time.Second, ErrStale},
		{time.Hour, ErrStale},
		{-time.Duration(c.now().Unix()) * time.Second, ErrStale}, // t=0
	} {
		h := Sign(current, c.now().Add(tc.offset), body)
		_, err := v.Verify(context.Background(), signed(h, body))
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("offset %v: %v, want %v", tc.offset, err, tc.want)
		}
		if tc.want != nil && Status(err) != http.StatusUnauthorized {
			t.Errorf("offset %v: status %d", tc.offset, Status(err))
		}
	}
	mustVerify(t, v, signed("t=9223372036854775807,v1="+strings.Repeat("0", 64), body), ErrStale)
}

func TestRotation(t *testing.T) {
	c := newClock()
	v := newVerifier(t, c, current, old)
	body := []byte(`{"n":1}`)
	mustVerify(t, v, signed(Sign(old, c.now(), body), body), nil)
	body = []byte(`{"n":2}`)
	mustVerify(t, v, signed(Sign(current, c.now(), body), body), nil)
	body = []byte(`{"n":3}`)
	mustVerify(t, v, signed(Sign(retired, c.now(), body), body), ErrBadSignature)

	// A header holding a bad value and a good one passes.
	good := strings.SplitN(Sign(current, c.now(), body), ",", 2)[1]
	mustVerify(t, v, signed(fmt.Sprintf("t=%d,v1=%s,%s", c.now().Unix(), strings.Repeat("00", 32), good), body), nil)
}

func TestHeaders(t *testing.T) {
	c := newClock()
	v := newVerifier(t, c, current)
	body := []byte(`{}`)
	ts := c.now().Unix()
	sig := strings.SplitN(Sign(current, c.now(), body), ",", 2)[1]
	for _, tc := range []struct {
		name, header string
		want         error
	}{
		{"missing", "", ErrMissing},
		{"blank", "  ", ErrMissing},
		{"no t", sig, ErrMalformed},
		{"no v1", fmt.Sprintf("t=%d", ts), ErrMalformed},
		{"only other schemes", fmt.Sprintf("t=%d,v0=%s", ts, strings.Repeat("a", 64)), ErrMalformed},
		{"100 v1 values", fmt.Sprintf("t=%d", ts) + strings.Repeat(","+sig, 100), ErrMalformed},
		{"9 v1 values", fmt.Sprintf("t=%d", ts) + strings.Repeat(","+sig, 9), ErrMalformed},
		{"8 v1 values", fmt.Sprintf("t=%d", ts) + strings.Repeat(",v1="+strings.Repeat("0", 64), 7) + "," + sig, nil},
		{"spaces after commas", fmt.Sprintf("t=%d, %s", ts, sig), nil},
		{"unknown scheme skipped", fmt.Sprintf("v0=test,t=%d,%s,v2=later", ts, sig), nil},
		{"two t", fmt.Sprintf("t=%d,t=%d,%s", ts, ts, sig), ErrMalformed},
		{"short hex", fmt.Sprintf("t=%d,%s", ts, sig[:len(sig)-2]), ErrMalformed},
		{"long hex", fmt.Sprintf("t=%d,%s00", ts, sig), ErrMalformed},
		{"not hex", fmt.Sprintf("t=%d,v1=%s", ts, strings.Repeat("zz", 32)), ErrMalformed},
		{"leading zero", fmt.Sprintf("t=0%d,%s", ts, sig), ErrMalformed},
		{"plus sign", fmt.Sprintf("t=+%d,%s", ts, sig), ErrMalformed},
		{"fraction", fmt.Sprintf("t=%d.5,%s", ts, sig), ErrMalformed},
		{"overflow", fmt.Sprintf("t=99999999999999999999,%s", sig), ErrMalformed},
		{"empty element", fmt.Sprintf("t=%d,,%s", ts, sig), ErrMalformed},
		{"trailing comma", fmt.Sprintf("t=%d,%s,", ts, sig), ErrMalformed},
		{"no equals", fmt.Sprintf("t=%d,%s,v1", ts, sig), ErrMalformed},
		{"over 4 KiB", fmt.Sprintf("t=%d,%s,x=%s", ts, sig, strings.Repeat("y", 4096)), ErrMalformed},
		{"space inside", fmt.Sprintf("t = %d,%s", ts, sig), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh store: valid cases must not replay each other.
			v := newVerifier(t, c, current)
			_, err := v.Verify(context.Background(), signed(tc.header, body))
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if tc.want != nil && Status(err) != http.StatusUnauthorized {
				t.Fatalf("status %d", Status(err))
			}
		})
	}
	// Two signature headers are ambiguous.
	r := signed(Sign(current, c.now(), body), body)
	r.Header.Add(SignatureHeader, Sign(current, c.now(), body))
	mustVerify(t, v, r, ErrMalformed)
}

func TestTooLarge(t *testing.T) {
	c := newClock()
	v, err := New(Options{Secrets: [][]byte{current}, MaxBody: 64, Now: c.now, Replay: NewMemoryReplayStore(MemoryOptions{Now: c.now})})
	if err != nil {
		t.Fatal(err)
	}
	fits := bytes.Repeat([]byte("a"), 64)
	mustVerify(t, v, signed(Sign(current, c.now(), fits), fits), nil)

	over := bytes.Repeat([]byte("b"), 65)
	h := Sign(current, c.now(), over)
	_, err = v.Verify(context.Background(), signed(h, over))
	if !errors.Is(err, ErrTooLarge) || Status(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("over the cap: %v", err)
	}
	r := signed(h, over)
	r.ContentLength = -1 // chunked: the cap holds while reading
	mustVerify(t, v, r, ErrTooLarge)

	// An outer cap (the app's MAX_CONTENT_LENGTH) is a 413 too.
	r = signed(h, over)
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
	r.ContentLength = -1
	_, err = v.Verify(context.Background(), r)
	if Status(err) != http.StatusRequestEntityTooLarge {
		t.Fatalf("outer cap: %v", err)
	}

	// The default is 1 MiB.
	v = newVerifier(t, c, current)
	big := bytes.Repeat([]byte("c"), 1<<20+1)
	mustVerify(t, v, signed(Sign(current, c.now(), big), big), ErrTooLarge)
	mustVerify(t, v, signed(Sign(current, c.now(), big[1:]), big[1:]), nil)
}

type failingStore struct{}

func (failingStore) Claim(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("connection refused")
}

type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

func TestFailClosed(t *testing.T) {
	c := newClock()
	v, err := New(Options{Secrets: [][]byte{current}, Now: c.now, Replay: failingStore{}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{}`)
	_, err = v.Verify(context.Background(), signed(Sign(current, c.now(), body), body))
	if !errors.Is(err, ErrUnavailable) || Status(err) != http.StatusServiceUnavailable || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("store down: %v (%d)", err, Status(err))
	}

	r := signed(Sign(current, c.now(), body), nil)
	r.Body = io.NopCloser(brokenBody{})
	r.ContentLength = -1
	_, err = v.Verify(context.Background(), r)
	if Status(err) != http.StatusBadRequest {
		t.Fatalf("broken body: %v (%d)", err, Status(err))
	}
}

func TestStatus(t *testing.T) {
	for err, want := range map[error]int{
		nil:                           200,
		ErrMissing:                    401,
		ErrMalformed:                  401,
		fmt.Errorf("x: %w", ErrStale): 401,
		ErrBadSignature:               401,
		ErrReplay:                     409,
		ErrTooLarge:                   413,
		ErrUnavailable:                503,
		fmt.Errorf("%w: %w", ErrUnavailable, ErrFull): 503,
		errors.New("something else"):                  500,
	} {
		if got := Status(err); got != want {
			t.Errorf("Status(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	store := NewMemoryReplayStore(MemoryOptions{})
	for name, o := range map[string]Options{
		"no secrets":         {Replay: store},
		"empty secret":       {Secrets: [][]byte{current, {}}, Replay: store},
		"no replay store":    {Secrets: [][]byte{current}},
		"negative tolerance": {Secrets: [][]byte{current}, Replay: store, Tolerance: -time.Minute},
		"subsecond":          {Secrets: [][]byte{current}, Replay: store, Tolerance: time.Millisecond},
		"negative MaxBody":   {Secrets: [][]byte{current}, Replay: store, MaxBody: -1},
	} {
		if _, err := New(o); err == nil || !strings.HasPrefix(err.Error(), "webhook: ") {
			t.Errorf("%s: New = %v", name, err)
		}
	}

	// The Verifier keeps its own copy of the secrets.
	c := newClock()
	secret := bytes.Clone(current)
	v := newVerifier(t, c, secret)
	clear(secret)
	body := []byte(`{}`)
	mustVerify(t, v, signed(Sign(current, c.now(), body), body), nil)
}

func TestToleranceOption(t *testing.T) {
	c := newClock()
	v, err := New(Options{Secrets: [][]byte{current}, Tolerance: time.Minute, Now: c.now, Replay: NewMemoryReplayStore(MemoryOptions{Now: c.now})})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{}`)
	mustVerify(t, v, signed(Sign(current, c.now().Add(-61*time.Second), body), body), ErrStale)
	mustVerify(t, v, signed(Sign(current, c.now().Add(-60*time.Second), body), body), nil)
}

func TestHandler(t *testing.T) {
	c := newClock()
	var refused error
	v, err := New(Options{Secrets: [][]byte{current}, Now: c.now, Replay: NewMemoryReplayStore(MemoryOptions{Now: c.now}),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			refused = err
			http.Error(w, "refused", Status(err))
		}})
	if err != nil {
		t.Fatal(err)
	}
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "got %s (%d)", b, r.ContentLength)
	}))
	body := []byte(`{"event":"ping"}`)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, signed(Sign(current, c.now(), body), body))
	if rec.Code != 200 || rec.Body.String() != `got {"event":"ping"} (16)` {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, signed(Sign(current, c.now(), body), body))
	if rec.Code != 409 || !errors.Is(refused, ErrReplay) {
		t.Fatalf("replay through Handler: %d %v", rec.Code, refused)
	}

	// The default ErrorHandler writes the status.
	v = newVerifier(t, c, current)
	rec = httptest.NewRecorder()
	v.Handler(http.NotFoundHandler()).ServeHTTP(rec, signed("", body))
	if rec.Code != 401 {
		t.Fatalf("default ErrorHandler: %d", rec.Code)
	}
}

func TestMemoryReplayStore(t *testing.T) {
	c := newClock()
	s := NewMemoryReplayStore(MemoryOptions{MaxEntries: 3, Now: c.now})
	ctx := context.Background()
	claim := func(id string, d time.Duration, want bool, wantErr error) {
		t.Helper()
		ok, err := s.Claim(ctx, id, c.now().Add(d))
		if ok != want || !errors.Is(err, wantErr) {
			t.Fatalf("Claim(%s) = %v, %v; want %v, %v", id, ok, err, want, wantErr)
		}
	}
	claim("a", time.Minute, true, nil)
	claim("a", time.Hour, false, nil)
	claim("b", 2*time.Minute, true, nil)
	claim("c", 3*time.Minute, true, nil)
	claim("d", time.Minute, false, ErrFull) // full of live claims: refuse, never forget one
	claim("a", time.Minute, false, nil)     // still held

	c.add(time.Minute) // a expires: room for d, and a can be claimed again
	claim("d", time.Minute, true, nil)
	claim("a", time.Minute, false, ErrFull)
	c.add(2 * time.Minute) // b, c and d expire
	claim("a", time.Minute, true, nil)
	claim("b", time.Minute, true, nil)
	claim("past", -time.Second, true, nil) // already expired: nothing to keep
	claim("past", time.Minute, true, nil)
	if n := len(s.expiry); n != 3 || len(s.order) != 3 {
		t.Fatalf("held %d, heap %d", n, len(s.order))
	}
}

// Several instances racing for one delivery: exactly one wins.
func TestMemoryReplayStoreConcurrent(t *testing.T) {
	c := newClock()
	v := newVerifier(t, c, current)
	body := []byte(`{"event":"once"}`)
	h := Sign(current, c.now(), body)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), signed(h, body)); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, ErrReplay) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d requests accepted", wins.Load())
	}
}
