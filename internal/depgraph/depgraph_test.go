package depgraph_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/bulwarkhq/bulwark"

// rule says that pkg must not depend, directly or indirectly, on any
// package matching one of forbidden. A pattern ending in "/..." matches that
// path and everything under it, as in the go command; anything else matches
// that one path.
type rule struct {
	pkg       string // full import path
	forbidden []string
	why       string
	// direct checks only the package's own imports. The API's rule is
	// direct: it reaches package session through internal/store (which
	// implements session.Index), but without importing session it cannot
	// name a session manager, so the compiler keeps it from the cookie.
	direct bool
}

// rules is the table. To add one, name the package and what it must not
// reach, and say why. A rule for a package that does not exist yet is
// reported in the log and checked once the package is there.
var rules = []rule{
	{pkg: module + "/internal/app/api", forbidden: []string{module + "/session/...", module + "/csrf/...", "github.com/alexedwards/scs/..."},
		why: "the API authenticates by key only; it must not be able to read the session cookie", direct: true},
	{pkg: module + "/password", forbidden: []string{"github.com/trustelem/zxcvbn/..."},
		why: "programs that only hash must not link zxcvbn's dictionaries; the policy is password/policy"},
	{pkg: module + "/ratelimit", forbidden: []string{"github.com/redis/go-redis/v9/..."},
		why: "memory-only programs must not link go-redis; the Redis store is ratelimit/redisstore"},
	{pkg: module + "/upload", forbidden: []string{"github.com/minio/minio-go/v7/..."},
		why: "disk-only programs must not link the S3 client; it is upload/s3store"},
	{pkg: module + "/headers", forbidden: []string{module + "/internal/..."},
		why: "headers is a library a stranger can import; it cannot reach this module's internals"},
}

// libraryRules adds, for every package outside internal/ and cmd/ (the
// libraries and their subpackages), a rule that it reaches nothing under
// internal/: a stranger importing it could not build it otherwise.
func libraryRules(pkgs []string) []rule {
	var out []rule
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p, module+"/")
		if !ok || rel == "internal" || strings.HasPrefix(rel, "internal/") || rel == "cmd" || strings.HasPrefix(rel, "cmd/") {
			continue
		}
		out = append(out, rule{pkg: p, forbidden: []string{module + "/internal/..."},
			why: "a library package must build for a stranger, who cannot import this module's internal packages"})
	}
	return out
}

func TestForbiddenImports(t *testing.T) {
	deps, imports := listDeps(t)
	pkgs := make([]string, 0, len(deps))
	for p := range deps {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)

	for _, r := range append(slices.Clone(rules), libraryRules(pkgs)...) {
		d, ok := deps[r.pkg]
		if r.direct {
			d = imports[r.pkg]
		}
		if !ok {
			t.Logf("%s: not built yet; rule kept for when it is", r.pkg)
			continue
		}
		for _, f := range r.forbidden {
			var bad []string
			for _, dep := range d {
				if matches(f, dep) {
					bad = append(bad, dep)
				}
			}
			if len(bad) > 0 {
				t.Errorf("%s depends on %s (%d packages matching %s): %s", r.pkg, bad[0], len(bad), f, r.why)
			}
		}
	}
}

// A rule whose pattern matched nothing would never fail: check that the
// patterns match what they are meant to, and nothing else.
func TestMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{"github.com/redis/go-redis/v9/...", "github.com/redis/go-redis/v9", true},
		{"github.com/redis/go-redis/v9/...", "github.com/redis/go-redis/v9/internal/pool", true},
		{"github.com/redis/go-redis/v9/...", "github.com/redis/go-redis/v90", false},
		{module + "/internal/...", module + "/internal/testenv", true},
		{module + "/internal/...", module + "/internalx", false},
		{module + "/session", module + "/session", true},
		{module + "/session", module + "/session/sessiontest", false},
	} {
		if got := matches(c.pattern, c.path); got != c.want {
			t.Errorf("matches(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

func matches(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// listDeps returns every package of the module with all the packages it
// depends on (not counting its tests), from one run of go list. Packages
// that do not compile are still listed: go list reads imports only, so a
// rule holds even while another part of the module is being rewritten.
func listDeps(t *testing.T) (deps, imports map[string][]string) {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts its own GOROOT/bin first on PATH
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	cmd := exec.Command(goBin, "list", "-e", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	deps, imports = map[string][]string{}, map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), "|", 3)
		if len(f) == 3 {
			imports[f[0]] = strings.Fields(f[1])
			deps[f[0]] = strings.Fields(f[2])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(deps) == 0 {
		t.Fatal("go list found no packages")
	}
	return deps, imports
}
