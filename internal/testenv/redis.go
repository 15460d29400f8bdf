package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// RedisServer is a redis-server process started for tests.
type RedisServer struct {
	Addr string // host:port on 127.0.0.1
	bin  string
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

var sharedRedis struct {
	once sync.Once
	srv  *RedisServer
	err  error
}

// Redis returns the address of the redis-server shared by this test binary,
// starting it on first use. Tests sharing it keep apart by key prefix.
func Redis(t testing.TB) string {
	t.Helper()
	bin := lookPath("redis-server")
	if bin == "" {
		missing(t, "redis-server", "redis-server")
	}
	sharedRedis.once.Do(func() {
		dir, err := os.MkdirTemp("", "bulwark-redis-")
		if err != nil {
			sharedRedis.err = err
			return
		}
		s := &RedisServer{bin: bin, dir: dir}
		port, err := freePort()
		if err == nil {
			err = s.startOn(port)
		}
		if err != nil {
			sharedRedis.err = err
			os.RemoveAll(dir)
			return
		}
		sharedRedis.srv = s
		atExit(func() { s.Stop(); os.RemoveAll(dir) })
	})
	if sharedRedis.err != nil {
		t.Fatalf("testenv: start redis-server: %v", sharedRedis.err)
	}
	return sharedRedis.srv.Addr
}

// NewRedis starts a redis-server of the test's own, for tests that stop and
// restart it. It is stopped when the test ends.
func NewRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin := lookPath("redis-server")
	if bin == "" {
		missing(t, "redis-server", "redis-server")
	}
	s := &RedisServer{bin: bin, dir: t.TempDir()}
	if err := s.startOn(FreePort(t)); err != nil {
		t.Fatalf("testenv: start redis-server: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *RedisServer) startOn(port int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := command(s.bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	s.cmd = cmd
	if err := waitRedis(s.Addr, 10*time.Second); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	return nil
}

// Stop ends the server. It can be started again with Start.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Start starts a stopped server again on the same address.
func (s *RedisServer) Start(t testing.TB) {
	t.Helper()
	_, portText, _ := net.SplitHostPort(s.Addr)
	port, _ := strconv.Atoi(portText)
	if err := s.startOn(port); err != nil {
		t.Fatalf("testenv: restart redis-server: %v", err)
	}
}

// waitRedis waits until the server answers PING.
func waitRedis(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if err := ping(addr); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s did not answer PING within %v: %w", addr, within, err)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
