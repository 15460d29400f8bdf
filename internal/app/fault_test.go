package app

// Fault tests: a backend (Redis, PostgreSQL, the S3 store, the SQLite disk)
// goes away while the service is under load and comes back. The service
// must fail closed — the requests that need the backend answer 503 in their
// group's format (an HTML page or application/problem+json) with
// Retry-After, the rest keep working — never panic or hang, leave no
// goroutines behind, and recover by itself within 2 s of the backend's
// return, without a restart.
//
// SIGTERM and SIGKILL of the whole process are in cmd/bulwark/fault_test.go
// and crash_test.go, where the real binary runs.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// recoveryBound is how soon after a backend returns every request that
// needs it must succeed again.
const recoveryBound = 2 * time.Second

// probe is one kind of request in the load.
type probe struct {
	name string
	// needs: while the backend is down this request must answer 503; when
	// false it must keep answering one of ok.
	needs bool
	// ok are the statuses of a healthy answer.
	ok []int
	// problem: a 503 must be application/problem+json (the API); else an
	// HTML page.
	problem bool
	// plain: a 503 is checked by status only (/readyz answers load
	// balancers in plain text).
	plain bool
	send  func(c *http.Client) (*http.Response, error)
}

func (p probe) healthy(status int) bool {
	for _, s := range p.ok {
		if s == status {
			return true
		}
	}
	return false
}

// outcome is what the load saw of one probe.
type outcome struct {
	mu       sync.Mutex
	statuses map[int]int
	errs     []string // transport errors and malformed 503s
}

func (o *outcome) add(status int, problem string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if status != 0 {
		o.statuses[status]++
	}
	if problem != "" && len(o.errs) < 10 {
		o.errs = append(o.errs, problem)
	}
}

// check sends p once and returns its status, or 0 and why the answer is
// not acceptable: a transport error (a panic cuts the connection), or a
// 503 without Retry-After or in the wrong format.
func (p probe) check(c *http.Client) (int, string) {
	res, err := p.send(c)
	if err != nil {
		return 0, fmt.Sprintf("%s: %v", p.name, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode == http.StatusServiceUnavailable && !p.plain {
		ct := res.Header.Get("Content-Type")
		want := "text/html"
		if p.problem {
			want = "application/problem+json"
		}
		switch {
		case !strings.HasPrefix(ct, want):
			return res.StatusCode, fmt.Sprintf("%s: 503 as %q, want %s", p.name, ct, want)
		case res.Header.Get("Retry-After") == "":
			return res.StatusCode, p.name + ": 503 without Retry-After"
		}
	}
	return res.StatusCode, ""
}

// load sends the probes from a few clients in a loop until stop.
type load struct {
	probes   []probe
	client   *http.Client
	outcomes []*outcome
	stopping chan struct{}
	wg       sync.WaitGroup
	sent     atomic.Int64
}

func startLoad(probes []probe, client *http.Client, workers int) *load {
	l := &load{probes: probes, client: client, stopping: make(chan struct{})}
	for range probes {
		l.outcomes = append(l.outcomes, &outcome{statuses: map[int]int{}})
	}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := w; ; i++ {
				select {
				case <-l.stopping:
					return
				default:
				}
				n := i % len(l.probes)
				status, problem := l.probes[n].check(l.client)
				l.outcomes[n].add(status, problem)
				l.sent.Add(1)
			}
		}()
	}
	return l
}

func (l *load) stop() {
	close(l.stopping)
	l.wg.Wait()
}

// verify fails the test for a transport error, a malformed 503, or an
// answer that is neither healthy nor 503 (a 500 is a fault not handled).
func (l *load) verify(t *testing.T) {
	for i, p := range l.probes {
		o := l.outcomes[i]
		for _, e := range o.errs {
			t.Errorf("under load: %s", e)
		}
		for status, n := range o.statuses {
			if !p.healthy(status) && status != http.StatusServiceUnavailable {
				t.Errorf("under load: %s answered %d (%d times); want %v or 503", p.name, status, n, p.ok)
			}
			if !p.needs && status == http.StatusServiceUnavailable {
				t.Errorf("under load: %s does not need the backend but answered 503 (%d times)", p.name, n)
			}
		}
	}
	t.Logf("load: %d requests; %s", l.sent.Load(), l.summary())
}

func (l *load) summary() string {
	var parts []string
	for i, p := range l.probes {
		o := l.outcomes[i]
		var ss []string
		for s, n := range o.statuses {
			ss = append(ss, fmt.Sprintf("%d×%d", s, n))
		}
		sort.Strings(ss)
		parts = append(parts, p.name+" "+strings.Join(ss, ","))
	}
	return strings.Join(parts, "; ")
}

// faultClient is a client of its own, so its idle connections can be
// closed before goroutines are counted.
func faultClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       15 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// settledGoroutines waits until the goroutine count is at most limit and
// returns the last count seen.
func settledGoroutines(limit int, within time.Duration) int {
	deadline := time.Now().Add(within)
	for {
		n := runtime.NumGoroutine()
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// goroutineSlack absorbs the pools' own goroutines coming and going (a
// pool's health check, a timer), which is not growth with the load.
const goroutineSlack = 4

// faultCycle runs the probes under load, stops the backend, checks that
// the probes that need it answer 503 and the rest still work, starts the
// backend again and checks that everything is healthy within recoveryBound,
// that no answer under load was anything else, that no panic was logged
// and that the goroutines came back to where they were.
func faultCycle(t *testing.T, s *testServer, client *http.Client, probes []probe, stop func(), start func()) {
	for _, p := range probes {
		if status, problem := p.check(client); problem != "" || !p.healthy(status) {
			t.Fatalf("before the fault: %s answered %d %s; want %v", p.name, status, problem, p.ok)
		}
	}
	// Warm the pools, then count.
	warm := startLoad(probes, client, 4)
	time.Sleep(200 * time.Millisecond)
	warm.stop()
	warm.verify(t)
	client.CloseIdleConnections()
	before := settledGoroutines(0, 300*time.Millisecond)

	l := startLoad(probes, client, 4)
	time.Sleep(300 * time.Millisecond)
	stop()
	time.Sleep(700 * time.Millisecond)
	// Every probe now answers as it must with the backend gone.
	for _, p := range probes {
		status, problem := p.check(client)
		switch {
		case problem != "":
			t.Errorf("backend down: %s", problem)
		case p.needs && status != http.StatusServiceUnavailable:
			t.Errorf("backend down: %s answered %d, want 503", p.name, status)
		case !p.needs && !p.healthy(status):
			t.Errorf("backend down: %s answered %d, want %v (it does not need the backend)", p.name, status, p.ok)
		}
	}
	start()
	back := time.Now()
	pending := append([]probe(nil), probes...)
	for len(pending) > 0 && time.Since(back) < recoveryBound {
		var still []probe
		for _, p := range pending {
			if status, problem := p.check(client); problem != "" || !p.healthy(status) {
				still = append(still, p)
			}
		}
		pending = still
		if len(pending) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, p := range pending {
		status, problem := p.check(client)
		t.Errorf("%v after the backend returned, %s still answers %d %s; want %v", recoveryBound, p.name, status, problem, p.ok)
	}
	if len(pending) == 0 {
		t.Logf("recovered %v after the backend returned", time.Since(back).Round(time.Millisecond))
	}
	time.Sleep(300 * time.Millisecond)
	l.stop()
	l.verify(t)
	if t.Failed() { // the causes of unexpected 500s
		for _, line := range strings.Split(s.logs.String(), "\n") {
			if strings.Contains(line, "status=500") {
				t.Log(line)
			}
		}
	}
	if strings.Contains(s.logs.String(), "panic") {
		t.Errorf("a handler panicked:\n%s", tail(s.logs.String(), 3000))
	}
	client.CloseIdleConnections()
	if after := settledGoroutines(before+goroutineSlack, 5*time.Second); after > before+goroutineSlack {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("goroutines grew from %d to %d over the fault:\n%s", before, after, tail(string(buf), 8000))
	} else {
		t.Logf("goroutines: %d before, %d after", before, after)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// getProbe sends a GET with the given header pairs.
func getProbe(base, path string, hdr ...string) func(c *http.Client) (*http.Response, error) {
	return func(c *http.Client) (*http.Response, error) {
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		return c.Do(req)
	}
}

// anonProbe is a GET by a visitor without cookies over c's connections.
func anonProbe(base, path string) func(c *http.Client) (*http.Response, error) {
	return func(c *http.Client) (*http.Response, error) {
		return (&http.Client{Transport: c.Transport, Timeout: c.Timeout}).Get(base + path)
	}
}

// loginProbe posts a wrong password with the anonymous CSRF cookie and
// token of one GET /login made with c; the probe sends that cookie itself,
// whatever client sends it.
func loginProbe(t *testing.T, base string, c *http.Client, email string) func(c *http.Client) (*http.Response, error) {
	t.Helper()
	res, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := tokenRE.FindStringSubmatch(string(body))
	if m == nil {
		t.Fatalf("no csrf_token on /login (%d)", res.StatusCode)
	}
	u, _ := url.Parse(base)
	var cookies []string
	for _, ck := range c.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	form := url.Values{"csrf_token": {m[1]}, "email": {email}, "password": {"not the password at all"}}.Encode()
	return func(c *http.Client) (*http.Response, error) {
		req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form))
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		// c's connections without c's cookies: only this visitor's are sent.
		return (&http.Client{Transport: c.Transport, Timeout: c.Timeout}).Do(req)
	}
}

// signIn registers an account through the pages with client's jar.
func signIn(t *testing.T, s *testServer, c *http.Client, email string) {
	t.Helper()
	b := &browser{t: t, base: s.URL, client: c}
	b.register(email, "Fault", goodPassword)
}

// Redis (sessions and rate limits) stopped under load: every route behind
// the limiter answers 503 — fail closed, RATELIMIT_FAIL_OPEN off — and
// /healthz still 200; back within 2 s of Redis's return.
// Remove the rate limiter's error hook (web.LimitErrors) or set
// RATELIMIT_FAIL_OPEN=true below to see it fail.
func TestFaultRedisDown(t *testing.T) {
	redis := testenv.NewRedis(t)
	s := startApp(t, map[string]string{
		"DATABASE_URL":        testenv.Postgres(t),
		"REDIS_URL":           "redis://" + redis.Addr + "/0",
		"RATELIMIT_FAIL_OPEN": "false",
	})
	client := faultClient()
	signIn(t, s, client, "redis-fault@example.com")
	key, _ := makeKey(t, s, makeUser(t, s, "redis-key@example.com", false), apikey.FilesRead)
	probes := []probe{
		// Redis keeps no data across its restart here, so the session is
		// gone afterwards: /account then sends the browser to /login.
		// POST /login soon meets the per-account limit (429): a decision
		// the limiter could only make with Redis up.
		{name: "GET /account", needs: true, ok: []int{200, 303}, send: getProbe(s.URL, "/account")},
		{name: "GET /", needs: true, ok: []int{200}, send: getProbe(s.URL, "/")},
		{name: "POST /login", needs: true, ok: []int{401, 429}, send: loginProbe(t, s.URL, faultClient(), "redis-fault@example.com")},
		{name: "GET /api/me", needs: true, ok: []int{200}, problem: true, send: getProbe(s.URL, "/api/me", "X-API-Key", key)},
		{name: "GET /readyz", needs: true, ok: []int{200}, plain: true, send: getProbe(s.URL, "/readyz")},
		{name: "GET /healthz", ok: []int{200}, send: getProbe(s.URL, "/healthz")},
	}
	faultCycle(t, s, client, probes, redis.Stop, func() { redis.Start(t) })
}

// PostgreSQL (accounts, API keys, sessions) stopped under load: signed-in
// pages, the API and sign-in answer 503; the anonymous home page, which
// needs no database, keeps answering 200; back within 2 s without a
// restart, with the session kept.
// Remove the unreachable check from web.AsError (connection errors become
// 500s) to see it fail.
//
// With sessions in Redis the session still loads while the database is
// down, and it is the account behind it that cannot: that too is a 503,
// never a redirect to /login as if signed out. (Make pages.signedIn treat
// a failed user lookup as no user to see that subtest fail.)
func TestFaultPostgresDown(t *testing.T) {
	for _, sessions := range []string{"postgres", "redis"} {
		t.Run("sessions in "+sessions, func(t *testing.T) {
			pg := testenv.NewPostgres(t)
			env := map[string]string{"DATABASE_URL": pg.URL}
			if sessions == "redis" {
				addr := testenv.Redis(t)
				flushRedis(t, addr, 1)
				env["REDIS_URL"] = "redis://" + addr + "/1"
			}
			postgresDown(t, pg, startApp(t, env))
		})
	}
}

func postgresDown(t *testing.T, pg *testenv.PostgresServer, s *testServer) {
	client := faultClient()
	signIn(t, s, client, "pg-fault@example.com")
	key, _ := makeKey(t, s, makeUser(t, s, "pg-key@example.com", false), apikey.FilesRead)
	probes := []probe{
		{name: "GET /account", needs: true, ok: []int{200}, send: getProbe(s.URL, "/account")},
		{name: "GET /search", needs: true, ok: []int{200}, send: getProbe(s.URL, "/search?q=fault")},
		{name: "POST /login", needs: true, ok: []int{401, 429}, send: loginProbe(t, s.URL, faultClient(), "pg-fault@example.com")},
		{name: "GET /api/me", needs: true, ok: []int{200}, problem: true, send: getProbe(s.URL, "/api/me", "X-API-Key", key)},
		{name: "GET /readyz", needs: true, ok: []int{200}, plain: true, send: getProbe(s.URL, "/readyz")},
		{name: "GET / (anonymous)", ok: []int{200}, send: anonProbe(s.URL, "/")},
		{name: "GET /healthz", ok: []int{200}, send: getProbe(s.URL, "/healthz")},
	}
	faultCycle(t, s, client, probes, pg.Stop, func() { pg.Start(t) })
}

// The S3 store stopped during uploads: uploads and downloads answer 503 as
// problem+json, the rest of the API keeps working, nothing is half-stored
// (every row has its object), and uploads work again within 2 s.
// Remove the unreachable check from web.AsError (the S3 client's dial
// errors become 500s) to see it fail.
func TestFaultS3Down(t *testing.T) {
	gw := testenv.NewS3(t)
	s := startApp(t, map[string]string{
		"UPLOAD_STORAGE":       fmt.Sprintf("s3://%s?endpoint=%s&region=%s", gw.Bucket, gw.Endpoint, gw.Region),
		"S3_ACCESS_KEY_ID":     gw.AccessKeyID,
		"S3_SECRET_ACCESS_KEY": gw.SecretAccessKey,
		"UPLOAD_MAX_FILES":     "100000",
		"UPLOAD_QUOTA":         "10GiB",
	})
	client := faultClient()
	key, _ := makeKey(t, s, makeUser(t, s, "s3-fault@example.com", false), apikey.FilesRead, apikey.FilesWrite)
	first := uploadAPI(t, s, key, "first.png", pngBytes(t))
	if first.status != 201 {
		t.Fatalf("first upload: %d %s", first.status, first.body)
	}
	id := first.json["id"].(string)
	img := pngBytes(t)
	probes := []probe{
		{name: "POST /api/files", needs: true, ok: []int{201}, problem: true, send: func(c *http.Client) (*http.Response, error) {
			ct, body := multipartBody("load.png", img)
			req, _ := http.NewRequest("POST", s.URL+"/api/files", body)
			req.Header.Set("X-API-Key", key)
			req.Header.Set("Content-Type", ct)
			return c.Do(req)
		}},
		{name: "GET /api/files/{id}", needs: true, ok: []int{200}, problem: true, send: getProbe(s.URL, "/api/files/"+id, "X-API-Key", key)},
		{name: "GET /api/me", ok: []int{200}, problem: true, send: getProbe(s.URL, "/api/me", "X-API-Key", key)},
		{name: "GET /", ok: []int{200}, send: getProbe(s.URL, "/")},
	}
	faultCycle(t, s, client, probes, gw.Stop, func() { gw.Start(t) })

	// Storage and rows agree: every ready row has its object.
	committed, _ := objects(t, s)
	have := map[string]bool{}
	for _, name := range committed {
		have[name] = true
	}
	rows, err := s.deps.DB.FileStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for id, f := range rows {
		if f.Ready && !have[id] {
			t.Errorf("file %s is listed but its object is missing", id)
		}
	}
}

// The SQLite volume fills up: writes answer a clear error page (500 or
// 503, never a panic or a dropped connection), reads keep working, the
// database passes PRAGMA integrity_check, and once space returns writes
// work again without a restart. It needs a small tmpfs, so it runs as root
// (CI does); elsewhere it is skipped, unless BULWARK_REQUIRE_SERVICES=1.
// Make the register handler ignore the store's error (it would answer 303
// with no account made) to see it fail at the first check.
func TestFaultSQLiteDiskFull(t *testing.T) {
	mnt := smallVolume(t, "8m")
	dbPath := filepath.Join(mnt, "bulwark.db")
	s := startApp(t, map[string]string{
		"DATABASE_URL": "sqlite://" + dbPath,
		"UPLOAD_DIR":   filepath.Join(t.TempDir(), "uploads"),
	})
	client := faultClient()
	signIn(t, s, client, "disk-fault@example.com")
	b := &browser{t: t, base: s.URL, client: client}
	bio := strings.Repeat("full disk ", 40)
	profile := func(i int) int {
		return b.submit("/account", "/account/profile", url.Values{"name": {"Disk"}, "bio": {fmt.Sprintf("%s %d", bio, i)}}).StatusCode
	}
	if st := profile(0); st != http.StatusSeeOther {
		t.Fatalf("profile before the disk filled: %d", st)
	}

	// Fill the volume, then write until a write fails: SQLite may still
	// have room in pages it already holds.
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	var failed response
	registered := 0
	for i := 1; i <= 400 && failed.Response == nil; i++ {
		reg := &browser{t: t, base: s.URL, client: faultClient()}
		res := reg.submit("/register", "/register", url.Values{
			"email": {fmt.Sprintf("full%d@example.com", i)}, "name": {"Full " + bio[:60]}, "password": {goodPassword}})
		switch res.StatusCode {
		case http.StatusSeeOther:
			registered++
		case http.StatusInternalServerError, http.StatusServiceUnavailable:
			failed = res
		default:
			t.Fatalf("register on a full disk: %d %.300s", res.StatusCode, res.body)
		}
	}
	if failed.Response == nil {
		t.Fatal("400 registrations on a full 8 MiB volume all succeeded: the disk never filled")
	}
	t.Logf("full disk: registration %d answered %d", registered+1, failed.StatusCode)
	if ct := failed.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(failed.body, "try again") {
		t.Errorf("full disk: %d %q, want an HTML page that says to try again: %.300s", failed.StatusCode, ct, failed.body)
	}
	if strings.Contains(failed.body, "SQLITE") || strings.Contains(failed.body, "disk") {
		t.Errorf("the error page shows the cause: %.300s", failed.body)
	}
	// Pages that write nothing still work. (A signed-in page may answer
	// 503: its session, kept in this database, is touched on every
	// request and cannot be.)
	for _, path := range []string{"/", "/login", "/healthz", "/readyz"} {
		if res := (&browser{t: t, base: s.URL, client: faultClient()}).get(path); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s on a full disk: %d", path, res.StatusCode)
		}
	}
	if res := b.get("/account"); res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /account on a full disk: %d, want 200 or 503", res.StatusCode)
	} else {
		t.Logf("GET /account on a full disk: %d, %d bytes: %.200q", res.StatusCode, len(res.body), res.body)
	}
	if strings.Contains(s.logs.String(), "panic") {
		t.Errorf("a handler panicked:\n%s", tail(s.logs.String(), 3000))
	}
	if !strings.Contains(strings.ToLower(s.logs.String()), "full") {
		t.Errorf("the log does not say the disk is full:\n%s", tail(s.logs.String(), 2000))
	}

	// Space returns: writes work again, no restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(recoveryBound)
	for st := profile(1); st != http.StatusSeeOther; st = profile(2) {
		if time.Now().After(deadline) {
			t.Fatalf("profile after space returned: %d", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	reg := &browser{t: t, base: s.URL, client: faultClient()}
	reg.register("after-full@example.com", "After", goodPassword)
	integrityCheck(t, dbPath)
}

// integrityCheck runs PRAGMA integrity_check on the SQLite file beside the
// service's own connections.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check: %s", res)
	}
}

// smallVolume mounts a tmpfs of the given size for the test and unmounts
// it at the end. Mounting needs root: otherwise the test is skipped, or
// fails under BULWARK_REQUIRE_SERVICES=1 when root was expected.
func smallVolume(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		msg := "a size-capped volume needs a tmpfs mount, which needs root"
		if testenv.Required() {
			t.Fatalf("%s; %s=1 requires it (CI runs as root)", msg, testenv.RequireEnv)
		}
		t.Skip(msg)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("mount a %s tmpfs: %v: %s", size, err, out)
		if testenv.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Registered after t.TempDir's removal, so it runs first.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path until its volume has no space left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			// The last partial block: write single bytes until none fit.
			for {
				if _, err := f.Write(chunk[:512]); err != nil {
					break
				}
			}
			return
		}
	}
}
