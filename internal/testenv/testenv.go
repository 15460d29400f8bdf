// Package testenv starts the real services that some tests need — redis-server,
// PostgreSQL and Chromium — from the binaries Debian installs, on loopback
// ports in temporary directories. There are no mocks of these services.
//
// When a binary is missing the test is skipped with a message naming the
// Debian package to install, unless BULWARK_REQUIRE_SERVICES=1, in which case
// the test fails: CI sets it so that a missing service can never turn into a
// silently skipped suite.
//
// Servers are shared by all tests of one test binary (one package), because
// the machines that run the suite have two cores. A package that uses them
// calls Main from its TestMain so they are stopped when the tests end:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv is the variable that turns a missing service into a failure.
const RequireEnv = "BULWARK_REQUIRE_SERVICES"

// registry holds the servers this test binary started. It is package state
// on purpose: a test binary is one process, and its servers live as long as
// it does.
var registry struct {
	mu       sync.Mutex
	cleanups []func()
}

func atExit(f func()) {
	registry.mu.Lock()
	registry.cleanups = append(registry.cleanups, f)
	registry.mu.Unlock()
}

// Main runs the tests, stops every server they started and exits.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain with set-up of its own to
// undo: it runs the tests, stops the servers and returns the exit code.
func Run(m *testing.M) int {
	code := m.Run()
	registry.mu.Lock()
	for i := len(registry.cleanups) - 1; i >= 0; i-- {
		registry.cleanups[i]()
	}
	registry.cleanups = nil
	registry.mu.Unlock()
	return code
}

// Required reports whether missing services must fail tests.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// missing skips (or, under BULWARK_REQUIRE_SERVICES=1, fails) the test.
func missing(t testing.TB, what, debianPackage string) {
	t.Helper()
	msg := fmt.Sprintf("%s not found: install the Debian package %q (apt-get install %s)", what, debianPackage, debianPackage)
	if Required() {
		t.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
	}
	t.Skip(msg)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	return port
}

// FreeAddr returns FreePort as a "127.0.0.1:PORT" address, for servers that
// must be told where to listen.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitTCP waits until addr accepts connections.
func waitTCP(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not accept connections within %v: %w", addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// command prepares a child process that dies with the test binary even if
// Main never runs (a crash or a timeout).
func command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd
}

// lookPath finds the first of the given names on PATH or as absolute paths.
func lookPath(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// postgresBinDir finds the newest /usr/lib/postgresql/*/bin with initdb and pg_ctl.
func postgresBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if exists(filepath.Join(d, "initdb")) && exists(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func versionOf(binDir string) int {
	v := filepath.Base(filepath.Dir(binDir))
	n := 0
	fmt.Sscanf(v, "%d", &n)
	return n
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func runCtx(timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), timeout)
}

func trimOutput(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	return s
}
