package main

// Faults of the whole process, on the real binary. SIGKILL in the middle of
// an upload is TestUploadSurvivesSIGKILL (crash_test.go): after a restart
// every row has its object and every object its row. Backends going away
// under load are in internal/app/fault_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// shutdownBound is how long bulwark may take to exit after SIGTERM: the
// server's ShutdownTimeout (20 s, internal/server) plus closing the
// database and the mail queue.
const shutdownBound = 25 * time.Second

// SIGTERM while requests are in flight: the listener closes at once (a new
// connection is refused, so a load balancer moves on), the requests already
// being served finish with their real answers, and the process exits 0
// well within the bound. The upload that was in flight is kept.
// Cancel the requests' contexts at SIGTERM (drop context.WithoutCancel in
// server.Serve) or call http.Server.Close instead of Shutdown to see it fail.
func TestSIGTERMDrainsInFlight(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "SECRET_KEY": strongKey}
	ctx := context.Background()
	create := command(ctx, dir, env, "user", "create", "--email", "term@example.com", "--name", "Term")
	create.Stdin = strings.NewReader("violet kettle harbour sunrise\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	keyOut, err := command(ctx, dir, env, "apikey", "create", "--email", "term@example.com", "--name", "term",
		"--scope", "files:read", "--scope", "files:write").Output()
	if err != nil {
		t.Fatalf("apikey create: %v", err)
	}
	key := strings.TrimSpace(string(keyOut))

	addr, proc, logs := serveLogged(t, dir, env)
	base := "http://" + addr
	var img bytes.Buffer
	png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	ct, body := crashBody(img.Bytes())

	// Two uploads send all but the end of their bodies and wait.
	type result struct {
		status int
		id     string
		err    error
	}
	const inFlight = 2
	writers := make([]*io.PipeWriter, inFlight)
	results := make(chan result, inFlight)
	var started sync.WaitGroup
	for i := range inFlight {
		pr, pw := io.Pipe()
		writers[i] = pw
		started.Add(1)
		go func() {
			req, _ := http.NewRequest("POST", base+"/api/files", pr)
			req.Header.Set("X-API-Key", key)
			req.Header.Set("Content-Type", ct)
			req.ContentLength = int64(body.Len())
			started.Done()
			res, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer res.Body.Close()
			var f struct{ ID string }
			json.NewDecoder(res.Body).Decode(&f)
			results <- result{status: res.StatusCode, id: f.ID}
		}()
	}
	started.Wait()
	cut := body.Len() - 64
	for _, pw := range writers {
		if _, err := pw.Write(body.Bytes()[:cut]); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond) // the server is now reading both bodies

	exited := make(chan error, 1)
	term := time.Now()
	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- proc.Wait() }()

	// New connections are refused once the listener is closed.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			// Refused, or reset: a connection that reached the accept
			// queue just as the listener closed is reset by the kernel.
			if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("a new connection after SIGTERM: %v, want connection refused", err)
			}
			refused = true
			break
		}
		c.Close()
	}
	if !refused {
		t.Fatal("5 s after SIGTERM the server still accepts new connections")
	}
	select {
	case err := <-exited:
		t.Fatalf("bulwark exited (%v) before its in-flight requests finished:\n%s", err, logs.String())
	default:
	}

	// The in-flight uploads finish and get their real answers.
	for _, pw := range writers {
		pw.Write(body.Bytes()[cut:])
		pw.Close()
	}
	var ids []string
	for range inFlight {
		r := <-results
		if r.err != nil || r.status != http.StatusCreated {
			t.Fatalf("an upload in flight at SIGTERM: status %d, error %v, want 201\n%s", r.status, r.err, logs.String())
		}
		ids = append(ids, r.id)
	}

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("bulwark after SIGTERM: %v, want exit status 0\n%s", err, logs.String())
		}
		t.Logf("exited 0, %v after SIGTERM", time.Since(term).Round(time.Millisecond))
	case <-time.After(shutdownBound):
		proc.Process.Kill()
		t.Fatalf("bulwark still running %v after SIGTERM\n%s", shutdownBound, logs.String())
	}
	if !strings.Contains(logs.String(), "server: stopped") {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}

	// What was accepted in flight was kept.
	base, proc = startServe(t, dir, env)
	defer func() { proc.Process.Signal(syscall.SIGTERM); proc.Wait() }()
	for _, id := range ids {
		if res := get(t, base+"/api/files/"+id, key); res.StatusCode != http.StatusOK {
			t.Errorf("file %s uploaded during the shutdown: %d after a restart", id, res.StatusCode)
		}
	}
}

// serveLogged starts `bulwark serve`, waits for /healthz and returns its
// address, its process and its output.
func serveLogged(t *testing.T, dir string, env map[string]string) (string, *exec.Cmd, *syncBuffer) {
	t.Helper()
	addr := testenv.FreeAddr(t)
	env["ADDR"] = addr
	logs := &syncBuffer{}
	cmd := command(context.Background(), dir, env, "serve")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
			res.Body.Close()
			return addr, cmd, logs
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("serve did not start:\n%s", logs.String())
	return "", nil, nil
}

// syncBuffer is a child's output, read while it is still being written.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
