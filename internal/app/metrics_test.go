package app

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/password"
)

// scrape reads the metrics at url: every sample by its series, written as
// the text format writes it (`name{a="x",b="y"}`, labels sorted).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d", url, res.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// routeLabels lists the route label values of the request counter.
func routeLabels(samples map[string]float64) map[string]bool {
	re := regexp.MustCompile(`^bulwark_http_requests_total\{code="[^"]*",route="([^"]*)"\}$`)
	out := map[string]bool{}
	for k := range samples {
		if m := re.FindStringSubmatch(k); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// listening waits for the log line of the public listener, or of the
// metrics listener, and returns its address.
func listening(t *testing.T, logs *syncWriter, metrics bool) string {
	t.Helper()
	re := regexp.MustCompile(`msg="server: listening" addr=(\S+)`)
	if metrics {
		re = regexp.MustCompile(`msg="server: listening" listener=metrics addr=(\S+)`)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			if m := re.FindStringSubmatch(line); m != nil && (metrics || !strings.Contains(line, "listener=metrics")) {
				return m[1]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no listener in the log:\n%s", logs.String())
	return ""
}

// The service as `bulwark serve` runs it, with METRICS_ADDR: the metrics
// are served there and only there, a burst of failed sign-ins from many
// addresses is plain in them, and both listeners stop together.
// To see it fail: drop the startMetrics call from Serve (no listener), or
// mount d.Metrics.Handler on the public mux (ADDR answers /metrics).
func TestMetricsServe(t *testing.T) {
	cfg := testConfig(t, map[string]string{
		"ADDR": "127.0.0.1:0", "METRICS_ADDR": "127.0.0.1:0",
		// The burst comes through a proxy, from 20 networks.
		"TRUSTED_PROXIES": "127.0.0.1/32",
	})
	ctx := context.Background()
	if _, err := CreateUser(ctx, cfg, "ann@example.com", "Ann", false, goodPassword); err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, cfg, log) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-served:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("Serve did not return")
		}
	})
	t.Cleanup(func() { stop() })
	public := "http://" + listening(t, logs, false)
	metrics := "http://" + listening(t, logs, true) + "/metrics"

	// /metrics is not a route of the public listener.
	res, err := http.Get(public + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("public GET /metrics: %d, want 404", res.StatusCode)
	}

	const burst = 20
	var wg sync.WaitGroup
	codes := make(chan int, burst)
	for i := range burst {
		wg.Go(func() {
			code, err := failSignIn(public, fmt.Sprintf("198.51.%d.7", i))
			if err != nil {
				t.Error(err)
			}
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusUnauthorized {
			t.Errorf("failed sign-in: %d, want 401", c)
		}
	}

	s := scrape(t, metrics)
	for series, least := range map[string]float64{
		`bulwark_signin_failures_total{method="password"}`:                 burst,
		`bulwark_http_requests_total{code="401",route="POST /login"}`:      burst,
		`bulwark_security_events_total{event="login_failure"}`:             burst,
		`bulwark_http_requests_total{code="404",route="/"}`:                1, // the public /metrics
		`bulwark_http_request_duration_seconds_count{route="POST /login"}`: burst,
		`bulwark_password_hash_wait_seconds_count`:                         burst,
		`go_goroutines`:    1,
		`process_open_fds`: 1,
		`bulwark_http_request_duration_seconds_bucket{route="POST /login",le="+Inf"}`: burst,
	} {
		if s[series] < least {
			t.Errorf("%s = %v, want at least %v", series, s[series], least)
		}
	}
	if s[`bulwark_http_request_duration_seconds_bucket{route="POST /login",le="0.25"}`] != 0 {
		t.Error("a failed sign-in answered in under 0.25 s: the failure floor is gone")
	}

	// The metrics listener answers nothing but GET /metrics.
	res, err = http.Get(strings.TrimSuffix(metrics, "/metrics") + "/account")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("metrics listener GET /account: %d, want 404", res.StatusCode)
	}

	// Both stop with the service.
	if err := stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(strings.TrimSuffix(metrics, "/metrics"), "http://"), time.Second); err == nil {
		t.Error("the metrics listener is still open after shutdown")
	}
}

// failSignIn loads the sign-in form and posts a wrong password for
// ann@example.com, through a proxy that names client as the client, and
// returns the status. It reports errors instead of failing the test, so
// it can run on any goroutine.
func failSignIn(base, client string) (int, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", base+"/login", nil)
	req.Header.Set("X-Forwarded-For", client)
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := tokenRE.FindSubmatch(page)
	if m == nil {
		return 0, fmt.Errorf("no CSRF token on /login (status %d)", res.StatusCode)
	}
	form := url.Values{"email": {"ann@example.com"}, "password": {"wrong password " + client}, "csrf_token": {string(m[1])}}
	req, _ = http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Forwarded-For", client)
	if res, err = c.Do(req); err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// startWithMetrics starts the test service and its metrics listener the
// way Serve does, and returns the metrics URL.
func startWithMetrics(t *testing.T, env map[string]string, change func(*Deps)) (*testServer, string) {
	t.Helper()
	env["METRICS_ADDR"] = "127.0.0.1:0"
	s := startAppWith(t, env, change)
	ctx, cancel := context.WithCancel(context.Background())
	addr, wait, err := s.deps.startMetrics(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := wait(); err != nil {
			t.Errorf("metrics listener: %v", err)
		}
	})
	return s, "http://" + addr.String() + "/metrics"
}

// Refusals, uploads and hash waits reach the numbers, each under a label
// from a fixed set. To see it fail: drop Observer from the limiters in
// pages.New, the CSRFRefused call in csrfFailed, the m.storage wrapper in
// openFiles or OnWait in the hasher.
func TestMetricsCount(t *testing.T) {
	s, metrics := startWithMetrics(t, map[string]string{"RATELIMIT_LOGIN": "2 per minute"}, func(d *Deps) {
		d.Hasher = password.NewHasher(password.Options{Params: password.Params{
			Memory: 512, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32,
		}, OnWait: d.Metrics.observeHashWait})
	})

	// A cross-site form post and one without a token: CSRF refusals.
	b := s.browser(t)
	if r := b.post("/login", url.Values{"email": {"x@example.com"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("no token: %d", r.StatusCode)
	}
	if r := b.post("/login", url.Values{"csrf_token": {b.token("/login")}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: %d", r.StatusCode)
	}
	// Three sign-ins from one address against "2 per minute".
	var last int
	for range 3 {
		last = b.login("nobody@example.com", "wrong password").StatusCode
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("third sign-in: %d, want 429", last)
	}
	// An upload through the API.
	ann := makeUser(t, s, "ann@example.com", false)
	key, _ := makeKey(t, s, ann, apikey.FilesRead, apikey.FilesWrite)
	img := pngBytes(t)
	if r := uploadAPI(t, s, key, "a.png", img); r.status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}

	got := scrape(t, metrics)
	for series, want := range map[string]float64{
		`bulwark_csrf_refusals_total{reason="no-token"}`:                  1,
		`bulwark_csrf_refusals_total{reason="cross-origin"}`:              1,
		`bulwark_ratelimit_refusals_total{limit="login"}`:                 1,
		`bulwark_signin_throttled_total{limit="login"}`:                   1,
		`bulwark_signin_failures_total{method="password"}`:                2,
		`bulwark_http_requests_total{code="429",route="POST /login"}`:     1,
		`bulwark_http_requests_total{code="403",route="/"}`:               2, // refused before the pages' routes
		`bulwark_http_requests_total{code="201",route="POST /api/files"}`: 1,
		`bulwark_uploads_total`:                                           1,
		`bulwark_upload_bytes_total`:                                      float64(len(img)),
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
	if got[`bulwark_password_hash_wait_seconds_count`] < 2 {
		t.Errorf("hash waits observed: %v, want at least 2", got[`bulwark_password_hash_wait_seconds_count`])
	}
}

// Paths a client chooses never become label values: 100 random paths, on
// the pages, the API and a refused host, add no route but the catch-alls.
// To see it fail: label by r.URL.Path instead of the pattern in
// Instrument.
func TestMetricsCardinality(t *testing.T) {
	s, metrics := startWithMetrics(t, map[string]string{}, nil)
	b := s.browser(t)
	b.get("/healthz")
	b.get("/login")
	before := routeLabels(scrape(t, metrics))
	var paths []string
	for i := range 100 {
		var r [8]byte
		rand.Read(r[:])
		p := "/" + hex.EncodeToString(r[:])
		switch i % 4 {
		case 1:
			p = "/api" + p
		case 2:
			p = "/files" + p + "/x"
		}
		paths = append(paths, p)
		if i%4 == 3 {
			req, _ := http.NewRequest("GET", s.URL+p, nil)
			req.Host = "evil.example" // refused before any route: "other"
			b.do(req)
			continue
		}
		b.get(p)
	}
	res, err := http.Get(metrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, p := range paths {
		if strings.Contains(string(body), strings.TrimPrefix(p, "/api")) {
			t.Fatalf("the path %s is in the metrics", p)
		}
	}
	after := routeLabels(scrape(t, metrics))
	for r := range after {
		if !before[r] && r != "/" && r != "/api/" && r != "other" {
			t.Errorf("new route label %q", r)
		}
	}
	if !after["other"] || !after["/api/"] || !after["GET /healthz"] || !after["GET /login"] {
		t.Errorf("route labels %v: want other, /api/, GET /healthz and GET /login among them", after)
	}
}

// A request that fails on a backend is counted by cause, from the
// backend's name on the 503 or the error's origin.
func TestErrorCause(t *testing.T) {
	for _, tt := range []struct {
		e    *web.Error
		want string
	}{
		{web.Unavailable("session store", errors.New("dial tcp: refused")), "session-store"},
		{web.Unavailable("rate-limit store", errors.New("timeout")), "rate-limit-store"},
		{web.Busy(password.ErrBusy), "password-hasher"},
		{web.Internal(fmt.Errorf("commit upload: %w", &storageError{errors.New("s3: 500")})), "storage"},
		{web.Internal(fmt.Errorf("store: user: %w", &net.OpError{Op: "dial", Err: errors.New("refused")})), "database"},
		{web.Unavailable("backend", &net.OpError{Op: "dial", Err: errors.New("refused")}), "database"},
		{web.Unavailable("backend", &storageError{&net.OpError{Op: "dial", Err: errors.New("refused")}}), "storage"},
		{web.Internal(fmt.Errorf("x: %w", context.DeadlineExceeded)), "internal"},
		{web.Internal(errors.New("handler panicked")), "internal"},
	} {
		if got := errorCause(tt.e); got != tt.want {
			t.Errorf("errorCause(%v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}

// BenchmarkInstrument is what the metrics add to every request: the
// pooled writer, the route handed back by web.Routed, one counter and one
// histogram observation. It should make no allocation.
func BenchmarkInstrument(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	for _, tt := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", web.Routed(mux)},
		{"instrumented", newMetrics().Instrument(web.Routed(mux))},
	} {
		b.Run(tt.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", "/healthz", nil)
			w := discardWriter{http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				tt.h.ServeHTTP(w, req)
			}
		})
	}
}

// discardWriter is a ResponseWriter that keeps nothing.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w discardWriter) WriteHeader(int)             {}

// The README lists every metric, and the Grafana dashboard asks only for
// metrics that exist. To see it fail: rename a metric in newMetrics.
func TestMetricsDocumented(t *testing.T) {
	m := newMetrics()
	// A labelled metric is gathered only once it has a series.
	m.Event(httptestRequest(), "x")
	m.Refused(context.Background(), "default")
	m.StoreFailed(context.Background(), "default", nil)
	m.CSRFRefused(httptestRequest(), nil)
	m.ServerError(httptestRequest(), web.Internal(nil))
	m.seriesFor("", 200)
	m.storageErrors.WithLabelValues("write")
	m.mailErrors.WithLabelValues("send")
	m.signinFailures.WithLabelValues("password")
	m.signinThrottled.WithLabelValues("login")
	m.passkeyFailures.WithLabelValues("refused")
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "bulwark_") {
			names[f.GetName()] = true
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for n := range names {
		if !strings.Contains(string(readme), "`"+n+"`") {
			t.Errorf("README does not list %s", n)
		}
	}
	dash, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(dash) {
		t.Fatal("docs/grafana-dashboard.json is not JSON")
	}
	for _, n := range regexp.MustCompile(`bulwark_[a-z_]+`).FindAllString(string(dash), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
		if !names[base] {
			t.Errorf("the dashboard asks for %s, which is not a metric", n)
		}
	}
}

func httptestRequest() *http.Request {
	r, _ := http.NewRequest("GET", "/", nil)
	return r
}
