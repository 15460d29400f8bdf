package app

import (
	"bufio"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// A03:2025 Software Supply Chain Failures.
//
// Most of this category is outside what a test against the handler can
// see: who may publish the modules we import, whether a release was
// tampered with upstream, and known vulnerabilities in them. Those are
// answered by the go command itself (go.sum hashes checked against the
// checksum database on every download), by govulncheck in .ci/run, and by
// the short dependency list DESIGN.md argues for.
//
// What is testable here is what the service and the repository control:
// the pages load no code from another origin (a compromised CDN cannot
// reach our users), and the module graph cannot be quietly redirected (no
// replace directive, every required module pinned by a go.sum hash).

// assetRE finds the URLs pages load code or styles from.
var assetRE = regexp.MustCompile(`<(?:script|link|img|iframe|object|embed)\b[^>]*\b(?:src|href)="([^"]*)"`)

// TestAttackA03PagesLoadNothingFromElsewhere: every script, style sheet
// and frame a page refers to is a /static/ file of this service, and the
// CSP allows scripts from no other host. To see it fail, add
// <script src="https://cdn.example/x.js"> to layout.html, or a host to
// script-src in headers.Policy.
func TestAttackA03PagesLoadNothingFromElsewhere(t *testing.T) {
	s := startApp(t, nil)
	anon := s.browser(t)
	b := s.browser(t)
	b.register("assets@example.com", "Assets", goodPassword)
	pages := map[string]*browser{
		"/": anon, "/login": anon, "/register": anon, "/password/forgot": anon,
		"/account": b, "/search?q=a": b,
	}
	for path, who := range pages {
		res := who.get(path)
		if res.StatusCode != 200 {
			t.Errorf("%s: %d", path, res.StatusCode)
			continue
		}
		for _, m := range assetRE.FindAllStringSubmatch(res.body, -1) {
			u, err := url.Parse(m[1])
			if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/static/") {
				t.Errorf("%s loads %q: only /static/ files of this service are allowed", path, m[1])
				continue
			}
			if st := who.get(u.Path); st.StatusCode != 200 {
				t.Errorf("%s refers to %s, which answers %d", path, u.Path, st.StatusCode)
			}
		}
		for _, d := range strings.Split(res.Header.Get("Content-Security-Policy"), ";") {
			f := strings.Fields(d)
			if len(f) == 0 || (f[0] != "script-src" && f[0] != "default-src" && f[0] != "style-src") {
				continue
			}
			for _, src := range f[1:] {
				if src != "'self'" && src != "'none'" && !strings.HasPrefix(src, "'nonce-") {
					t.Errorf("%s: CSP %s allows %q", path, f[0], src)
				}
			}
		}
	}
}

// TestAttackA03ModulesPinned: go.mod redirects no module (a replace to a
// fork or a local directory would build code nobody reviewed under a
// trusted name), and every required module has both go.sum hashes, so the
// go command refuses a changed download. To see it fail, add
// "replace golang.org/x/crypto => ../crypto" to go.mod, or delete a line of
// go.sum.
func TestAttackA03ModulesPinned(t *testing.T) {
	sums := map[string]bool{}
	f, err := os.Open("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 3 && strings.HasPrefix(fields[2], "h1:") {
			sums[fields[0]+" "+fields[1]] = true
		}
	}
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	inRequire, required := false, 0
	for _, line := range strings.Split(string(mod), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "replace"):
			t.Errorf("go.mod redirects a module: %q", line)
		case line == "require (":
			inRequire = true
		case line == ")":
			inRequire = false
		case inRequire || strings.HasPrefix(line, "require "):
			fields := strings.Fields(strings.TrimPrefix(line, "require "))
			if len(fields) < 2 {
				continue
			}
			required++
			path, version := fields[0], fields[1]
			if !sums[path+" "+version+"/go.mod"] {
				t.Errorf("go.sum has no hash of %s %s's go.mod", path, version)
			}
			// The module's own tree is hashed when it is built from;
			// a go.mod-only line is enough for modules only in the graph.
			if !sums[path+" "+version] && !strings.Contains(line, "// indirect") {
				t.Errorf("go.sum has no hash of %s %s", path, version)
			}
		}
	}
	if required < 10 {
		t.Fatalf("read only %d requirements from go.mod: its shape has changed", required)
	}
}
