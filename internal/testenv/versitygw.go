package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// VersityGWInstall is the command that installs the S3 gateway S3 runs.
// versitygw is not packaged by Debian; CI (.ci/run) runs this command.
const VersityGWInstall = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// S3Server is an S3-compatible endpoint for one test: the shared versitygw
// of the test binary, and a new, empty bucket of the test's own.
type S3Server struct {
	Endpoint        string // "http://127.0.0.1:PORT"
	Region          string // "us-east-1"
	AccessKeyID     string // random for each test binary
	SecretAccessKey string // random for each test binary
	Bucket          string // new and empty on each call
}

type versityGW struct {
	bin     string
	dir     string // holds root/ (the buckets) and the gateway's log
	addr    string
	access  string
	secret  string
	buckets atomic.Int64

	mu     sync.Mutex // guards cmd and exited across Stop and Start (S3Gateway)
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

var sharedS3 struct {
	once sync.Once
	srv  *versityGW
	err  error
}

// S3 returns an S3-compatible endpoint with a new, empty bucket, from the
// versitygw gateway shared by this test binary (started on first use, on a
// loopback port, over a temporary directory, with random keys). Each call
// makes its own bucket, so tests do not see each other's objects.
//
// versitygw is looked for on PATH and in the Go bin directory. When it is
// missing the test is skipped with the command that installs it, or fails
// under BULWARK_REQUIRE_SERVICES=1.
func S3(t testing.TB) S3Server {
	t.Helper()
	bin := versityGWPath()
	if bin == "" {
		msg := "versitygw not found on PATH or in the Go bin directory: install versitygw: " + VersityGWInstall
		if Required() {
			t.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	sharedS3.once.Do(func() {
		s, err := startVersityGW(bin)
		sharedS3.srv, sharedS3.err = s, err
		if err == nil {
			atExit(s.stop)
		}
	})
	if sharedS3.err != nil {
		t.Fatalf("testenv: start versitygw: %v", sharedS3.err)
	}
	return sharedS3.srv.newBucket(t)
}

// newBucket makes an empty bucket on s.
func (s *versityGW) newBucket(t testing.TB) S3Server {
	t.Helper()
	bucket := fmt.Sprintf("test-%d", s.buckets.Add(1))
	// The posix backend serves each directory under its root as a bucket.
	if err := os.Mkdir(filepath.Join(s.dir, "root", bucket), 0o700); err != nil {
		t.Fatalf("testenv: create bucket: %v", err)
	}
	return S3Server{
		Endpoint:        "http://" + s.addr,
		Region:          "us-east-1",
		AccessKeyID:     s.access,
		SecretAccessKey: s.secret,
		Bucket:          bucket,
	}
}

// S3Gateway is a versitygw of one test's own (NewS3), for tests that stop
// it and start it again. A restarted gateway listens on the same address
// over the same buckets, with the same keys, so S3Server stays valid.
type S3Gateway struct {
	S3Server // one empty bucket made for the test

	gw *versityGW
}

// NewS3 starts a versitygw of the test's own with one empty bucket, and
// stops it when the test ends. It is found, skipped or failed like S3.
// Tests that only need a bucket use S3, which shares one gateway.
func NewS3(t testing.TB) *S3Gateway {
	t.Helper()
	bin := versityGWPath()
	if bin == "" {
		msg := "versitygw not found on PATH or in the Go bin directory: install versitygw: " + VersityGWInstall
		if Required() {
			t.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	gw, err := startVersityGW(bin)
	if err != nil {
		t.Fatalf("testenv: start versitygw: %v", err)
	}
	t.Cleanup(gw.stop)
	return &S3Gateway{S3Server: gw.newBucket(t), gw: gw}
}

// Stop kills the gateway; its buckets and objects stay on disk.
func (g *S3Gateway) Stop() { g.gw.halt() }

// Start starts a stopped gateway again on the same address.
func (g *S3Gateway) Start(t testing.TB) {
	t.Helper()
	if err := g.gw.run(); err != nil {
		t.Fatalf("testenv: restart versitygw: %v", err)
	}
}

// versityGWPath finds versitygw on PATH or in the bin directory of each
// GOPATH entry, where go install puts it.
func versityGWPath() string {
	if p := lookPath("versitygw"); p != "" {
		return p
	}
	for _, dir := range goBinDirs() {
		p := filepath.Join(dir, "versitygw")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// goBinDirs lists where go install puts binaries: GOBIN if set, else the
// bin directory of each GOPATH entry, as the go command reports them.
func goBinDirs() []string {
	goEnv := func(name string) string {
		ctx, cancel := runCtx(10 * time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "env", name).Output()
		if err != nil {
			return os.Getenv(name)
		}
		return strings.TrimSpace(string(out))
	}
	if gobin := goEnv("GOBIN"); gobin != "" {
		return []string{gobin}
	}
	gopath := goEnv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	var dirs []string
	for _, p := range filepath.SplitList(gopath) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

func startVersityGW(bin string) (*versityGW, error) {
	dir, err := os.MkdirTemp("", "bulwark-s3-")
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(filepath.Join(dir, "root"), 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &versityGW{
		bin:    bin,
		dir:    dir,
		addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		access: "AK" + randomHex(9),
		secret: randomHex(20),
	}
	if err := s.run(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// run starts the gateway process on s.addr over s.dir/root and waits until
// it answers; its output is appended to s.dir/log.
func (s *versityGW) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	logFile, err := os.OpenFile(filepath.Join(s.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := command(s.bin, "--access", s.access, "--secret", s.secret, "--port", s.addr,
		"--region", "us-east-1", "--quiet", "posix", filepath.Join(s.dir, "root"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	if err := s.waitAnswers(exited, 30*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("%w; its output: %s", err, trimOutput(log))
	}
	return nil
}

// waitAnswers waits until the gateway answers HTTP. Any status will do: an
// unsigned request gets 403, which shows that the S3 API is up.
func (s *versityGW) waitAnswers(exited <-chan struct{}, within time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for {
		select {
		case <-exited:
			return errors.New("versitygw exited at start")
		default:
		}
		resp, err := client.Get("http://" + s.addr + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw on %s did not answer within %v: %w", s.addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// halt kills the gateway process, if it runs, and waits for it to exit.
func (s *versityGW) halt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

func (s *versityGW) stop() {
	s.halt()
	os.RemoveAll(s.dir)
}

// randomHex returns n random bytes in hex: keys only this test binary knows.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}
