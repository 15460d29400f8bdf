package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// binary is the bulwark command built once for these tests, so they run it
// the way a user does.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bulwark-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "bulwark")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build bulwark: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testenv.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

const strongKey = "b54abacbb6f6a6141285af555df51f5b73457d3361466220052bf9508c45844e"

// command runs bulwark in dir with exactly env (plus PATH and HOME).
func command(ctx context.Context, dir string, env map[string]string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// serveUntilHealthy starts `bulwark serve` and waits for GET /healthz.
func serveUntilHealthy(t *testing.T, dir string, env map[string]string) (stop func() string) {
	t.Helper()
	addr := testenv.FreeAddr(t)
	env["ADDR"] = addr
	cmd := command(context.Background(), dir, env, "serve")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	cmd.Stdout = &logs
	cancel := func() { cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || string(body) != "ok" {
				t.Fatalf("healthz: %d %q", res.StatusCode, body)
			}
			break
		}
		if time.Now().After(deadline) {
			cancel()
			cmd.Wait()
			t.Fatalf("serve did not answer /healthz: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() string {
		cancel()
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve did not shut down cleanly on SIGINT: %v\n%s", err, logs.String())
		}
		return logs.String()
	}
}

func TestServeOnEmbeddedDefaults(t *testing.T) {
	dir := t.TempDir()
	stop := serveUntilHealthy(t, dir, map[string]string{})
	stop()
	keyFile := filepath.Join(dir, "data", "secret_key")
	st, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no dev key file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	first, _ := os.ReadFile(keyFile)
	stop = serveUntilHealthy(t, dir, map[string]string{})
	logs := stop()
	second, _ := os.ReadFile(keyFile)
	if !bytes.Equal(first, second) || len(first) < 32 {
		t.Fatal("the dev key changed across a restart")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "bulwark.db")); err != nil {
		t.Fatalf("no SQLite database in ./data: %v", err)
	}
	if strings.Contains(logs, string(first)) || strings.Contains(logs, fmt.Sprintf("%x", first)) {
		t.Fatal("the key reached the log")
	}
}

func TestProductionRefusesUnsafeKeys(t *testing.T) {
	for name, key := range map[string]string{"missing": "", "changeme": "changeme", "short": "0123456789abcdef", "low-entropy": strings.Repeat("ab", 32)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"BULWARK_ENV": "production", "ADDR": testenv.FreeAddr(t)}
			if key != "" {
				env["SECRET_KEY"] = key
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := command(ctx, dir, env, "serve")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := exitCode(err); code != 2 {
				t.Fatalf("exit code %d, want 2; stderr: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "SECRET_KEY") {
				t.Fatalf("stderr does not name SECRET_KEY: %s", stderr.String())
			}
			if key != "" && strings.Contains(stderr.String(), key) {
				t.Fatalf("stderr shows the refused key: %s", stderr.String())
			}
		})
	}
}

func TestProductionStartsWithStrongKey(t *testing.T) {
	dir := t.TempDir()
	stop := serveUntilHealthy(t, dir, map[string]string{
		"BULWARK_ENV": "production", "SECRET_KEY": strongKey, "ALLOWED_HOSTS": "bulwark.example",
		"BASE_URL": "https://bulwark.example",
		// Production defaults on; the test talks plain HTTP to /healthz,
		// which the HTTPS redirect leaves alone for load balancers.
	})
	logs := stop()
	if strings.Contains(logs, strongKey) {
		t.Fatal("the key reached the log")
	}
}

func TestCheckDeploy(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	weak := map[string]string{"BULWARK_ENV": "production", "SECRET_KEY": strongKey, "FORCE_HTTPS": "false",
		"SESSION_COOKIE_SECURE": "false", "TRUSTED_PROXIES": "0.0.0.0/0", "REDIS_URL": "redis://10.1.2.3:6379/0"}
	out, err := command(ctx, dir, weak, "check", "--deploy").CombinedOutput()
	if code := exitCode(err); code != 1 {
		t.Fatalf("weak config: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"FORCE_HTTPS", "SESSION_COOKIE_SECURE", "TRUSTED_PROXIES", "REDIS_URL"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no finding about %s:\n%s", want, out)
		}
	}
	if n := len(strings.Split(strings.TrimSpace(string(out)), "\n")); n < 4 {
		t.Errorf("want one line per finding, got %d lines", n)
	}
	good := map[string]string{"BULWARK_ENV": "production", "SECRET_KEY": strongKey, "ALLOWED_HOSTS": "bulwark.example",
		"BASE_URL":     "https://bulwark.example",
		"DATABASE_URL": "postgres://bulwark@127.0.0.1:5432/bulwark", "DATA_DIR": filepath.Join(dir, "data")}
	os.MkdirAll(filepath.Join(dir, "data"), 0o700)
	out, err = command(ctx, dir, good, "check", "--deploy").CombinedOutput()
	if code := exitCode(err); code != 0 {
		t.Fatalf("good config: exit %d, want 0\n%s", code, out)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	for v, val := range map[string]string{"MAX_CONTENT_LENGTH": "abc", "TRUSTED_PROXIES": "10.0.0.0/99", "SESSION_LIFETIME": "-1h", "RATELIMIT_DEFAULT": "lots"} {
		out, err := command(context.Background(), t.TempDir(), map[string]string{v: val}, "check").CombinedOutput()
		if code := exitCode(err); code != 2 || !strings.Contains(string(out), v) {
			t.Errorf("%s=%s: exit %d, output %q", v, val, code, out)
		}
	}
}

func TestUserCreateAndImport(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cmd := command(ctx, dir, nil, "user", "create", "--email", "Admin@Example.com", "--name", "Admin", "--admin")
	cmd.Stdin = strings.NewReader("amber orchard whistle canyon\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	cmd = command(ctx, dir, nil, "user", "create", "--email", "weak@example.com", "--name", "Weak")
	cmd.Stdin = strings.NewReader("password\n")
	if out, err := cmd.CombinedOutput(); exitCode(err) != 1 {
		t.Fatalf("a weak password was accepted: %v\n%s", err, out)
	}
	file := filepath.Join(dir, "users.jsonl")
	os.WriteFile(file, []byte(`{"email":"a@example.com","name":"A","password_hash":"pbkdf2:sha1:1000$xw7xTQef334dn9dB$b16b1fba163806a10645438830b9abeaeb8611f0"}
{"email":"admin@example.com","name":"Dup","password_hash":"pbkdf2:sha1:1000$xw7xTQef334dn9dB$b16b1fba163806a10645438830b9abeaeb8611f0"}
{"email":"b@example.com","name":"B","password_hash":"plaintext"}
`), 0o600)
	out, err := command(ctx, dir, nil, "user", "import", file).Output()
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Scan()
	if got := sc.Text(); got != "imported 1, skipped 1 (duplicate), refused 1 (unreadable)" {
		t.Fatalf("import summary %q", got)
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func TestAPIKeyCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	run := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := command(ctx, dir, nil, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), exitCode(err)
	}
	for _, u := range []struct{ email, admin string }{{"root@example.com", "--admin"}, {"ann@example.com", ""}} {
		args := []string{"user", "create", "--email", u.email, "--name", "U"}
		if u.admin != "" {
			args = append(args, u.admin)
		}
		cmd := command(ctx, dir, nil, args...)
		cmd.Stdin = strings.NewReader("amber orchard whistle canyon\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("user create: %v\n%s", err, out)
		}
	}

	out, errOut, code := run("apikey", "create", "--email", "root@example.com", "--name", "ci",
		"--scope", "files:read", "--scope", "users:write", "--expires", "90d")
	if code != 0 {
		t.Fatalf("apikey create: exit %d\n%s", code, errOut)
	}
	key, ok := strings.CutSuffix(out, "\n")
	id, err := apikey.Parse(key)
	if !ok || err != nil {
		t.Fatalf("stdout is not the key alone on its line: %q (%v)", out, err)
	}

	// users:write is for administrators' keys; unknown scopes and bad
	// expiries are refused; nothing reaches stdout.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--email", "ann@example.com", "--name", "x", "--scope", "users:write"}, 1, "administrator"},
		{[]string{"--email", "ann@example.com", "--name", "x", "--scope", "files:admin"}, 1, "unknown scope"},
		{[]string{"--email", "nobody@example.com", "--name", "x", "--scope", "files:read"}, 1, "no account"},
		{[]string{"--email", "ann@example.com", "--name", "x", "--scope", "files:read", "--expires", "-1d"}, 2, "--expires"},
		{[]string{"--email", "ann@example.com", "--name", "x"}, 2, "usage"},
	} {
		out, errOut, code := run(append([]string{"apikey", "create"}, c.args...)...)
		if code != c.code || out != "" || !strings.Contains(errOut, c.want) {
			t.Errorf("apikey create %q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
	if out, errOut, code := run("apikey", "create", "--email", "ann@example.com", "--name", "sync", "--scope", "files:write", "--expires", "12h"); code != 0 {
		t.Fatalf("non-admin files:write key: exit %d %s %s", code, out, errOut)
	}

	// Only the hash is in the database.
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "data", "bulwark.db"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := db.KeyByID(ctx, id)
	db.Close()
	if err != nil || k.Hash != apikey.Hash(key) || !k.Has(apikey.UsersWrite) || k.ExpiresAt.Before(time.Now().Add(89*24*time.Hour)) {
		t.Fatalf("stored key %+v, %v", k, err)
	}
	for _, f := range []string{"bulwark.db", "bulwark.db-wal"} {
		data, _ := os.ReadFile(filepath.Join(dir, "data", f))
		if bytes.Contains(data, []byte(key[len(apikey.Prefix)+apikey.IDLen:])) {
			t.Fatalf("%s holds the key's secret", f)
		}
	}

	out, errOut, code = run("apikey", "list", "--email", "root@example.com")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, `"ci"`) || !strings.Contains(out, "users:write,files:read") ||
		strings.Contains(out, key) || strings.Count(out, "\n") != 2 {
		t.Fatalf("apikey list: exit %d\n%s%s", code, out, errOut)
	}
	if out, _, _ := run("apikey", "list", "--email", "ann@example.com"); strings.Contains(out, id) {
		t.Fatalf("ann's list shows root's key:\n%s", out)
	}

	if out, errOut, code := run("apikey", "revoke", id); code != 0 || out != "revoked "+id+"\n" {
		t.Fatalf("apikey revoke: exit %d %q %q", code, out, errOut)
	}
	out, _, _ = run("apikey", "list", "--email", "root@example.com")
	if fields := strings.Fields(strings.Split(out, "\n")[1]); fields[len(fields)-1] == "-" {
		t.Fatalf("the revoked key is not shown revoked:\n%s", out)
	}
	for _, bad := range []string{"zzzzzzzz", "nope"} {
		if _, errOut, code := run("apikey", "revoke", bad); code != 1 || !strings.Contains(errOut, bad) {
			t.Errorf("apikey revoke %s: exit %d %q", bad, code, errOut)
		}
	}
}
