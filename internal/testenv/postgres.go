package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

type postgresServer struct {
	binDir, dir, port string
	asPostgres        bool // running as root: the server runs as the postgres user
	dbs               atomic.Int64
}

var sharedPostgres struct {
	once sync.Once
	srv  *postgresServer
	err  error
}

// Postgres returns the URL of a new, empty database on the PostgreSQL server
// shared by this test binary, starting the server on first use. Each call
// makes its own database, so tests do not see each other's rows.
func Postgres(t testing.TB) string {
	t.Helper()
	binDir := postgresBinDir()
	if binDir == "" {
		missing(t, "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)", "postgresql")
	}
	sharedPostgres.once.Do(func() {
		s, err := startPostgres(binDir)
		sharedPostgres.srv, sharedPostgres.err = s, err
		if err == nil {
			atExit(s.stop)
		}
	})
	if sharedPostgres.err != nil {
		t.Fatalf("testenv: start PostgreSQL: %v", sharedPostgres.err)
	}
	return sharedPostgres.srv.newDatabase(t)
}

// newDatabase creates an empty database on s and returns its URL.
func (s *postgresServer) newDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	ctx, cancel := runCtx(30 * time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres"))
	if err != nil {
		t.Fatalf("testenv: connect to PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	// The name is made here from digits only; identifiers cannot be parameters.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	return s.url(name)
}

// PostgresServer is a PostgreSQL server of one test's own, for tests that
// stop it and start it again (NewPostgres). A restarted server listens on
// the same port over the same data directory, so URL stays valid.
type PostgresServer struct {
	URL string // an empty database made for the test

	srv     *postgresServer
	mu      sync.Mutex
	running bool
}

// NewPostgres starts a PostgreSQL server of the test's own (initdb takes a
// few seconds) with one empty database, and stops it when the test ends.
// Tests that only need a database use Postgres, which shares one server.
func NewPostgres(t testing.TB) *PostgresServer {
	t.Helper()
	binDir := postgresBinDir()
	if binDir == "" {
		missing(t, "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)", "postgresql")
	}
	s, err := startPostgres(binDir)
	if err != nil {
		t.Fatalf("testenv: start PostgreSQL: %v", err)
	}
	t.Cleanup(s.stop)
	p := &PostgresServer{srv: s, running: true}
	p.URL = s.newDatabase(t)
	return p
}

// Stop ends the server as a crash would: open connections are cut and no
// new ones are accepted until Start.
func (p *PostgresServer) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		p.srv.halt()
		p.running = false
	}
}

// Start starts a stopped server again on the same port and data.
func (p *PostgresServer) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running {
		return
	}
	if err := p.srv.start(); err != nil {
		t.Fatalf("testenv: restart PostgreSQL: %v", err)
	}
	p.running = true
}

func (s *postgresServer) url(db string) string {
	return fmt.Sprintf("postgres://bulwark@127.0.0.1:%s/%s?sslmode=disable", s.port, db)
}

func startPostgres(binDir string) (*postgresServer, error) {
	dir, err := os.MkdirTemp("", "bulwark-pg-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &postgresServer{binDir: binDir, dir: dir, port: strconv.Itoa(port)}
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: hand the directory to the postgres user.
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs the postgres user (from the postgresql package): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.asPostgres = true
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run(2*time.Minute, "initdb", "-D", data, "-A", "trust", "-U", "bulwark", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if err := s.start(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// start runs the server over its data directory on its port, which a
// stopped server keeps: NewPostgres's Start relies on that.
func (s *postgresServer) start() error {
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", s.port, s.dir)
	if out, err := s.run(time.Minute, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-o", opts, "-l", filepath.Join(s.dir, "log"), "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "log"))
		return fmt.Errorf("pg_ctl start: %w: %s %s", err, out, trimOutput(log))
	}
	return waitTCP("127.0.0.1:"+s.port, 30*time.Second)
}

// halt stops the server the way a crash would (no shutdown checkpoint,
// clients cut off at once) and keeps its data directory.
func (s *postgresServer) halt() {
	s.run(time.Minute, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
}

// run runs a PostgreSQL binary, as the postgres user when we are root.
func (s *postgresServer) run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := runCtx(timeout)
	defer cancel()
	bin := filepath.Join(s.binDir, name)
	var cmd *exec.Cmd
	if s.asPostgres {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	return trimOutput(out), err
}

func (s *postgresServer) stop() {
	s.halt()
	os.RemoveAll(s.dir)
}

// PostgresTool returns the path of a PostgreSQL client program (pg_dump,
// psql) from the same installation as the server, or skips like Postgres.
func PostgresTool(t testing.TB, name string) string {
	t.Helper()
	binDir := postgresBinDir()
	if binDir == "" {
		missing(t, "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb)", "postgresql")
	}
	return filepath.Join(binDir, name)
}
