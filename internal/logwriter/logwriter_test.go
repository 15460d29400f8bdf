package logwriter

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the flush goroutine and the test.
type lockedBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes++
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCloseLosesNothing writes from many goroutines and checks that Close
// delivers every line, whole, with far fewer writes than lines.
func TestCloseLosesNothing(t *testing.T) {
	out := &lockedBuffer{}
	w := New(out, 4096, time.Hour) // no periodic flush: only size and Close
	log := slog.New(slog.NewTextHandler(w, nil))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				log.Info("request", "g", g, "i", i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines after Close, want %d", len(lines), 8*500)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "time=") || !strings.Contains(l, "msg=request") {
			t.Fatalf("a line was split or mixed: %q", l)
		}
	}
	if out.writes >= len(lines)/10 {
		t.Errorf("%d writes for %d lines: not buffered", out.writes, len(lines))
	}
}

func TestFlushedEveryInterval(t *testing.T) {
	out := &lockedBuffer{}
	w := New(out, 1<<16, 10*time.Millisecond)
	defer w.Close()
	fmt.Fprintln(w, "one line")
	deadline := time.Now().Add(5 * time.Second)
	for out.String() == "" {
		if time.Now().After(deadline) {
			t.Fatal("a buffered line was not flushed by the interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type failingWriter struct{ fail bool }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.fail {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// TestRecoversAfterWriteError: a full disk drops the lines it could not
// take, and logging resumes once it has room again.
func TestRecoversAfterWriteError(t *testing.T) {
	f := &failingWriter{fail: true}
	w := New(f, 256, time.Hour)
	fmt.Fprintln(w, "lost while the disk is full")
	if err := w.Flush(); err == nil {
		t.Fatal("Flush hid the write error")
	}
	f.fail = false
	fmt.Fprintln(w, "written later")
	if err := w.Flush(); err != nil {
		t.Fatalf("Flush after recovery: %v", err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Close = %v, want the first error", err)
	}
}

func Example() {
	var out bytes.Buffer
	w := New(&out, 64<<10, 200*time.Millisecond)
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	log.Info("request", "path", "/healthz", "status", 200)
	w.Close() // at shutdown: everything buffered is written
	fmt.Print(out.String())
	// Output: level=INFO msg=request path=/healthz status=200
}

func BenchmarkWrite(b *testing.B) {
	w := New(discard{}, 64<<10, 200*time.Millisecond)
	defer w.Close()
	line := []byte(`{"time":"2026-11-30T22:00:00Z","level":"INFO","msg":"request","path":"/healthz","status":200}` + "\n")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Write(line)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
