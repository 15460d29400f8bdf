package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

type acceptAll struct{}

func (acceptAll) Claim(context.Context, string, time.Time) (bool, error) { return true, nil }

func benchVerify(b *testing.B, secrets [][]byte, signWith []byte) {
	c := newClock()
	v, err := New(Options{Secrets: secrets, Now: c.now, Replay: acceptAll{}})
	if err != nil {
		b.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 1024)
	r := httptest.NewRequest("POST", "/webhook", nil)
	r.Header.Set(SignatureHeader, Sign(signWith, c.now(), body))
	rd := bytes.NewReader(body)
	r.Body = io.NopCloser(rd)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		if _, err := v.Verify(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is a 1 KiB delivery signed with the current secret: parse,
// read, one HMAC, the replay id (the store here accepts everything, so this
// is the verifier's own cost; see BenchmarkMemoryReplayStore).
func BenchmarkVerify(b *testing.B) { benchVerify(b, [][]byte{current}, current) }

// BenchmarkVerifyFallback is the same delivery signed with the old secret
// during a rotation: one HMAC more.
func BenchmarkVerifyFallback(b *testing.B) { benchVerify(b, [][]byte{current, old}, old) }

// BenchmarkMemoryReplayStore claims new ids that expire at once, so the
// heap is drained as it fills, as under a steady flow.
func BenchmarkMemoryReplayStore(b *testing.B) {
	c := newClock()
	s := NewMemoryReplayStore(MemoryOptions{Now: c.now})
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if i%1000 == 0 {
			c.add(time.Second)
		}
		if ok, err := s.Claim(ctx, strconv.Itoa(i), c.now().Add(time.Second)); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkParseHeader(b *testing.B) {
	h := Sign(current, time.Unix(1700000000, 0), []byte(`{}`))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseHeader(h); err != nil {
			b.Fatal(err)
		}
	}
}
