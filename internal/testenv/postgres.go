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
	s := sharedPostgres.srv
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
	opts := fmt.Sprintf("-p %s -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", s.port, dir)
	if out, err := s.run(time.Minute, "pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w: %s %s", err, out, trimOutput(log))
	}
	if err := waitTCP("127.0.0.1:"+s.port, 30*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
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
	s.run(time.Minute, "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
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
