package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/ratelimit/storetest"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The cases every ratelimit.Store must pass (the memory store runs the same
// table), against a real redis-server.
func TestStore(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		// The server's clock runs on between calls, and this machine may be
		// busy: a reported wait may be that much shorter than the ideal.
		Slack: 2 * time.Second,
		New: func(t *testing.T) storetest.Store {
			c := redisClient(t, testenv.Redis(t))
			prefix := uniquePrefix()
			return storetest.Store{
				Store:   New(c, prefix),
				Advance: time.Sleep,
				Len: func() int {
					keys, err := c.Keys(context.Background(), prefix+"*").Result()
					if err != nil {
						t.Fatal(err)
					}
					return len(keys)
				},
			}
		},
	})
}

func redisClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

var prefixes atomic.Int64

// uniquePrefix keeps tests sharing one redis-server apart.
func uniquePrefix() string {
	return fmt.Sprintf("test:%d:%d:", time.Now().UnixNano(), prefixes.Add(1))
}

// commandStats returns calls per command from INFO commandstats.
func commandStats(t *testing.T, c *redis.Client) map[string]int {
	t.Helper()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	stats := map[string]int{}
	for _, line := range strings.Split(info, "\n") {
		// cmdstat_evalsha:calls=3,usec=...
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		stats[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.Atoi(calls)
	}
	return stats
}

// countingHook counts the commands the client sends, by name.
type countingHook struct{ sent atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.sent.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.sent.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// One Allow is one round trip, whatever the number of limits: the server
// sees exactly one EVALSHA per Allow and no other command from the client;
// the GETs and SETs run inside the script.
func TestOneRoundTrip(t *testing.T) {
	srv := testenv.NewRedis(t)
	c := redisClient(t, srv.Addr)
	hook := &countingHook{}
	c.AddHook(hook)
	s := New(c, "rt:")
	ctx := context.Background()
	limits := ratelimit.MustParse("10 per second; 100 per minute; 1000 per hour")

	if _, err := s.Allow(ctx, "warm-up", limits, 1); err != nil { // loads the script
		t.Fatal(err)
	}
	before := commandStats(t, c)
	sentBefore := hook.sent.Load()
	const n = 5
	for i := range n {
		d, err := s.Allow(ctx, "k", limits, 1)
		if err != nil || !d.Allowed || len(d.Results) != 3 {
			t.Fatalf("Allow %d: %+v, %v", i, d, err)
		}
	}
	sent := hook.sent.Load() - sentBefore
	after := commandStats(t, c)

	if sent != n {
		t.Errorf("client sent %d commands for %d Allow calls, want %d", sent, n, n)
	}
	if got := after["evalsha"] - before["evalsha"]; got != n {
		t.Errorf("evalsha calls grew by %d for %d Allow calls, want %d", got, n, n)
	}
	// Commands run inside the script are counted too; they are the only
	// others allowed to grow (and INFO itself).
	inside := map[string]bool{"evalsha": true, "info": true, "time": true, "get": true, "set": true}
	for name, calls := range after {
		if calls != before[name] && !inside[name] {
			t.Errorf("command %q ran %d times during the Allow calls", name, calls-before[name])
		}
	}
	if got := after["get"] - before["get"]; got != 3*n {
		t.Errorf("the script read %d keys, want %d (3 limits × %d)", got, 3*n, n)
	}
}

// A refund shortens the expiry to what is still owed, and one that leaves
// nothing owed deletes the key.
func TestRefundExpiry(t *testing.T) {
	c := redisClient(t, testenv.Redis(t))
	prefix := uniquePrefix()
	s := New(c, prefix)
	ctx := context.Background()
	limits := ratelimit.MustParse("10 per minute")
	key := prefix + "{k}:10/1m0s"
	if _, err := s.Allow(ctx, "k", limits, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Allow(ctx, "k", limits, -2); err != nil {
		t.Fatal(err)
	}
	ttl, err := c.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if want := 6 * time.Second; ttl <= want-2*time.Second || ttl > want+10*time.Millisecond {
		t.Errorf("TTL after refunding 2 of 3: %v, want about %v", ttl, want)
	}
	if _, err := s.Allow(ctx, "k", limits, -1); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(ctx, key).Result(); n != 0 {
		t.Error("a key that owes nothing was kept")
	}
}

// The script writes an expiry on each key, for when its limit will have
// recovered, so Redis does not fill with dead state.
func TestExpiry(t *testing.T) {
	c := redisClient(t, testenv.Redis(t))
	prefix := uniquePrefix()
	s := New(c, prefix)
	ctx := context.Background()
	if _, err := s.Allow(ctx, "k", ratelimit.MustParse("10 per minute; 5 per hour"), 2); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]time.Duration{
		prefix + "{k}:10/1m0s":  12 * time.Second, // 2 requests × 6 s
		prefix + "{k}:5/1h0m0s": 24 * time.Minute, // 2 × 12 min
	} {
		ttl, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= want-5*time.Second || ttl > want+10*time.Millisecond {
			t.Errorf("%s: TTL %v, want about %v", key, ttl, want)
		}
	}
	// A refused or peeking request writes nothing.
	if _, err := s.Allow(ctx, "peek", ratelimit.MustParse("10 per minute"), 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(ctx, prefix+"{peek}:10/1m0s").Result(); n != 0 {
		t.Error("a peek created a key")
	}
}

// Redis down: Allow fails, and a Limiter answers 503 (or, with FailOpen,
// lets the request through). Redis back: the same client works again.
func TestOutage(t *testing.T) {
	srv := testenv.NewRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialTimeout: 500 * time.Millisecond, MaxRetries: 1})
	t.Cleanup(func() { c.Close() })
	s := New(c, "outage:")
	ctx := context.Background()
	limits := ratelimit.MustParse("100 per minute")
	if _, err := s.Allow(ctx, "k", limits, 1); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	newLimiter := func(failOpen bool) http.Handler {
		l, err := ratelimit.New(ratelimit.Options{Store: s, Limits: limits, Logger: logger, FailOpen: failOpen})
		if err != nil {
			t.Fatal(err)
		}
		return l.Handler(ok)
	}
	closed, open := newLimiter(false), newLimiter(true)
	serve := func(h http.Handler) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		return rec
	}

	srv.Stop()
	if _, err := s.Allow(ctx, "k", limits, 1); err == nil {
		t.Fatal("Allow succeeded with Redis stopped")
	}
	if rec := serve(closed); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("fail closed: %d, Retry-After %q; want 503, 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := serve(open); rec.Code != http.StatusNoContent {
		t.Errorf("fail open: %d, want the handler's 204", rec.Code)
	}
	if !strings.Contains(logs.String(), "rate limit store failed") {
		t.Errorf("store failure not logged: %q", logs.String())
	}

	srv.Start(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Allow(ctx, "k", limits, 1)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis back, Allow still fails: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rec := serve(closed); rec.Code != http.StatusNoContent {
		t.Errorf("Redis back: %d, want 204", rec.Code)
	}
}

func BenchmarkAllow(b *testing.B) {
	c := redisClient(b, testenv.Redis(b))
	s := New(c, uniquePrefix())
	for _, spec := range []string{"1000000 per second", "1000000 per second; 100000000 per hour; 1000000000 per day"} {
		limits := ratelimit.MustParse(spec)
		b.Run(strconv.Itoa(len(limits))+"limits", func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Allow(ctx, "bench", limits, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
