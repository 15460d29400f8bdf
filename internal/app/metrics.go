package app

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"modernc.org/sqlite"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/internal/app/pages"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/server"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/mailer"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/upload"
)

// Metrics are the service's Prometheus metrics, in a registry of their own
// (never the global default one), served only on METRICS_ADDR. Every label
// takes its values from a small set fixed in the code — a route pattern, a
// status code, a limit's name, an event kind — never from the request: a
// path, an address, an email or a key as a label would let anyone grow the
// registry without bound, and would put personal data in the metrics.
//
// The libraries know nothing of Prometheus: each offers a small hook
// (ratelimit.Observer, password.Options.OnWait, web.Meter, upload.Storage
// and mailer.Sender wrapped here), and this file turns what they report
// into counts. README "Metrics" lists every metric.
type Metrics struct {
	registry *prometheus.Registry

	requests        *prometheus.CounterVec   // route, code
	requestDuration *prometheus.HistogramVec // route
	seriesMu        sync.RWMutex
	series          map[routeKey]requestSeries // resolved once per route and code

	limitRefusals    *prometheus.CounterVec // limit
	limitStoreErrors *prometheus.CounterVec // limit
	csrfRefusals     *prometheus.CounterVec // reason
	signinFailures   *prometheus.CounterVec // method
	signinThrottled  *prometheus.CounterVec // limit
	secondFactorFail prometheus.Counter
	passkeyFailures  *prometheus.CounterVec // reason
	events           *prometheus.CounterVec // event
	hashWait         prometheus.Histogram
	hashBusy         prometheus.Counter
	requestErrors    *prometheus.CounterVec // cause
	storageErrors    *prometheus.CounterVec // op
	mailErrors       *prometheus.CounterVec // stage
	uploadBytes      prometheus.Counter
	uploads          prometheus.Counter
}

// signinLimits are the rate limits whose refusals are sign-in throttles
// (see pages: the per-address limit on POST /login and /login/2fa, the
// passkey sign-in's, the per-account budgets and the second factor's).
var signinLimits = map[string]bool{
	"login": true, "login-passkey": true, "account": true, "account-network": true, "second-factor": true,
}

// newMetrics builds the registry with the Go runtime and process
// collectors and the service's own metrics.
func newMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{registry: reg, series: map[routeKey]requestSeries{}}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	single := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		reg.MustRegister(c)
		return c
	}
	m.requests = counter("bulwark_http_requests_total",
		"HTTP requests answered, by route pattern (\"other\" when no route matched) and status code.", "route", "code")
	m.requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bulwark_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	reg.MustRegister(m.requestDuration)
	m.limitRefusals = counter("bulwark_ratelimit_refusals_total",
		"Requests refused by a rate limit (429), by the limit's name.", "limit")
	m.limitStoreErrors = counter("bulwark_ratelimit_store_errors_total",
		"Rate-limit checks the store could not answer, by the limit's name.", "limit")
	m.csrfRefusals = counter("bulwark_csrf_refusals_total",
		"Form submissions refused by the CSRF check, by reason.", "reason")
	m.signinFailures = counter("bulwark_signin_failures_total",
		"Failed sign-ins (wrong password, unknown email, refused passkey), by method.", "method")
	m.signinThrottled = counter("bulwark_signin_throttled_total",
		"Sign-in attempts refused by a sign-in limit, by the limit's name.", "limit")
	m.secondFactorFail = single("bulwark_second_factor_failures_total",
		"Wrong second-factor codes (TOTP or recovery code).")
	m.passkeyFailures = counter("bulwark_passkey_failures_total",
		"Passkey sign-ins refused, by reason (refused, cloned).", "reason")
	m.events = counter("bulwark_security_events_total",
		"Security events recorded, by kind.", "event")
	m.hashWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bulwark_password_hash_wait_seconds",
		Help:    "Time a password hash or verification waited for a hashing slot.",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5},
	})
	reg.MustRegister(m.hashWait)
	m.hashBusy = single("bulwark_password_hash_busy_total",
		"Password hashes refused because no hashing slot came free in time (503).")
	m.requestErrors = counter("bulwark_request_errors_total",
		"Requests answered with a server error (5xx), by cause: the backend that failed, or internal.", "cause")
	m.storageErrors = counter("bulwark_storage_errors_total",
		"Upload storage (disk or S3) operations that failed, by operation.", "op")
	m.mailErrors = counter("bulwark_mail_errors_total",
		"Mail not sent: failed delivery attempts (send) and messages the queue refused (enqueue).", "stage")
	m.uploadBytes = single("bulwark_upload_bytes_total", "Bytes of uploaded files stored.")
	m.uploads = single("bulwark_uploads_total", "Uploaded files stored.")
	return m
}

// Handler serves the registry in the Prometheus text format on GET
// /metrics, and nothing else (404). It is for METRICS_ADDR only; the
// public handler has no such route.
func (m *Metrics) Handler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelError),
		EnableOpenMetrics: false,
	}))
	return mux
}

// metricsShutdownTimeout bounds how long a scrape in flight may hold up
// shutdown.
const metricsShutdownTimeout = 5 * time.Second

// startMetrics serves the metrics on METRICS_ADDR in the background until
// ctx ends. Without METRICS_ADDR it does nothing. It returns the bound
// address (port 0 picks one) and wait, which returns once the listener has
// shut down. Binding fails at once, so a taken port stops the start; a
// listener that fails later is logged and the service goes on.
func (d *Deps) startMetrics(ctx context.Context, log *slog.Logger) (addr net.Addr, wait func() error, err error) {
	if d.Config.MetricsAddr == "" {
		return nil, func() error { return nil }, nil
	}
	log = log.With("listener", "metrics")
	s, err := server.Listen(ctx, server.Options{
		Addr: d.Config.MetricsAddr, Handler: d.Metrics.Handler(log), Logger: log,
		ShutdownTimeout: metricsShutdownTimeout,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		err := s.Serve(ctx)
		if err != nil {
			log.Error("metrics listener stopped", "error", err)
		}
		done <- err
	}()
	return s.Addr(), func() error { return <-done }, nil
}

// routeKey is one request counter series: a route pattern and a status.
type routeKey struct {
	route string
	code  int
}

// requestSeries are a route's counter for one status and its histogram,
// resolved once so that a request costs no label hashing.
type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// seriesFor returns the series of route and code, making them the first
// time. route is a pattern from the code or "other", and code is clamped
// to real statuses, so the set stays bounded.
func (m *Metrics) seriesFor(route string, code int) requestSeries {
	if route == "" {
		route = "other"
	}
	if code < 100 || code > 599 {
		code = 0
	}
	k := routeKey{route, code}
	m.seriesMu.RLock()
	s, ok := m.series[k]
	m.seriesMu.RUnlock()
	if ok {
		return s
	}
	label := strconv.Itoa(code)
	if code == 0 {
		label = "other"
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	if s, ok := m.series[k]; ok {
		return s
	}
	s = requestSeries{m.requests.WithLabelValues(route, label), m.requestDuration.WithLabelValues(route)}
	m.series[k] = s
	return s
}

// meteredWriter learns a request's status and route pattern (through
// web.RecordRoute) on its way out. They are pooled: one per request in
// flight, none made per request once the pool is warm.
type meteredWriter struct {
	http.ResponseWriter
	status  int
	pattern string
}

var _ web.RouteRecorder = (*meteredWriter)(nil)

func (w *meteredWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are interim answers
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *meteredWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *meteredWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *meteredWriter) RecordRoute(pattern string) {
	if w.pattern == "" {
		w.pattern = pattern
	}
}

// Instrument counts every request reaching next by route and status, and
// times it. It goes outside everything else, so that refusals by the host
// check or the HTTPS redirect are counted too (as route "other").
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	pool := sync.Pool{New: func() any { return new(meteredWriter) }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		mw := pool.Get().(*meteredWriter)
		mw.ResponseWriter = w
		next.ServeHTTP(mw, r)
		status, pattern := mw.status, mw.pattern
		*mw = meteredWriter{}
		pool.Put(mw)
		if status == 0 {
			status = http.StatusOK
		}
		s := m.seriesFor(pattern, status)
		s.count.Inc()
		s.duration.Observe(time.Since(start).Seconds())
	})
}

// The handler groups' web.Meter.

var _ web.Meter = (*Metrics)(nil)

// Refused counts a rate-limit refusal, and a sign-in throttle when the
// limit guards sign-in.
func (m *Metrics) Refused(_ context.Context, name string) {
	m.limitRefusals.WithLabelValues(name).Inc()
	if signinLimits[name] {
		m.signinThrottled.WithLabelValues(name).Inc()
	}
}

// StoreFailed counts a rate-limit check the store could not answer.
func (m *Metrics) StoreFailed(_ context.Context, name string, _ error) {
	m.limitStoreErrors.WithLabelValues(name).Inc()
}

// Event counts a security event, and the sign-in, second-factor and
// passkey failures among them.
func (m *Metrics) Event(r *http.Request, kind store.EventKind) {
	m.events.WithLabelValues(string(kind)).Inc()
	switch kind {
	case store.EventLoginFailure:
		// The passkey sign-in records the same event as the password form.
		if strings.Contains(r.Pattern, "/passkey/") {
			m.signinFailures.WithLabelValues("passkey").Inc()
			m.passkeyFailures.WithLabelValues("refused").Inc()
		} else {
			m.signinFailures.WithLabelValues("password").Inc()
		}
	case store.EventPasskeyCloned:
		m.passkeyFailures.WithLabelValues("cloned").Inc()
	case store.EventSecondFactorFailure:
		m.secondFactorFail.Inc()
	}
}

// ServerError counts a 5xx answer by its cause.
func (m *Metrics) ServerError(_ *http.Request, e *web.Error) {
	m.requestErrors.WithLabelValues(errorCause(e)).Inc()
}

// CSRFRefused counts a CSRF refusal by reason.
func (m *Metrics) CSRFRefused(_ *http.Request, reason error) {
	label := "other"
	switch {
	case errors.Is(reason, csrf.ErrCrossOrigin):
		label = "cross-origin"
	case errors.Is(reason, csrf.ErrNoToken):
		label = "no-token"
	case errors.Is(reason, csrf.ErrBadToken):
		label = "bad-token"
	case errors.Is(reason, csrf.ErrTooLarge):
		label = "too-large"
	}
	m.csrfRefusals.WithLabelValues(label).Inc()
}

// errorCause names what made a request fail: upload storage, the backend
// a 503 names ("session store" → "session-store"), the database, or
// "internal" for the rest. A 503 that names only "backend" (web.AsError's
// answer to a connection that failed) is told apart by its error.
func errorCause(e *web.Error) string {
	switch {
	case errors.Is(e.Err, errStorage):
		return "storage"
	case e.Backend != "" && e.Backend != "backend":
		return strings.ReplaceAll(strings.ToLower(e.Backend), " ", "-")
	case isDatabaseError(e.Err):
		return "database"
	case e.Backend != "":
		return "backend"
	}
	return "internal"
}

// isDatabaseError reports an error from the database drivers or the
// connection to the database. Redis errors never get here: the session and
// limit stores answer through web.Unavailable, which names its backend.
func isDatabaseError(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := errors.AsType[*pgconn.PgError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*sqlite.Error](err); ok {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false // a net.Error too, but the request's, not the database's
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || pgconn.Timeout(err)
}

// observeHashWait is the password hasher's OnWait.
func (m *Metrics) observeHashWait(wait time.Duration, err error) {
	m.hashWait.Observe(wait.Seconds())
	if errors.Is(err, password.ErrBusy) {
		m.hashBusy.Inc()
	}
}

// Upload storage, counted: failed operations, and the bytes of files
// stored.

// errStorage marks errors that came from upload storage, so that a request
// failing on one is counted with cause "storage".
var errStorage = errors.New("upload storage")

// storageError is an error of upload storage: it reads as the error it
// wraps and is also errStorage.
type storageError struct{ err error }

func (e *storageError) Error() string   { return e.err.Error() }
func (e *storageError) Unwrap() []error { return []error{e.err, errStorage} }

// meteredStorage counts the failures of an upload.Storage, and the bytes
// of every object committed.
type meteredStorage struct {
	upload.Storage
	m *Metrics
}

func (m *Metrics) storage(s upload.Storage) upload.Storage { return meteredStorage{s, m} }

// failed counts err from op unless it is the client's doing (a missing
// object, a request that went away) and marks it as storage's.
func (s meteredStorage) failed(ctx context.Context, op string, err error) error {
	if err == nil || errors.Is(err, upload.ErrNotFound) || ctx.Err() != nil {
		return err
	}
	s.m.storageErrors.WithLabelValues(op).Inc()
	return &storageError{err}
}

func (s meteredStorage) Write(ctx context.Context, r io.Reader) (upload.Pending, error) {
	cr := &countingReader{r: r}
	p, err := s.Storage.Write(ctx, cr)
	if err != nil {
		if cr.err != nil { // the upload's body failed, not the storage
			return nil, err
		}
		return nil, s.failed(ctx, "write", err)
	}
	return meteredPending{p, s, cr.n}, nil
}

func (s meteredStorage) Open(ctx context.Context, name string) (upload.Object, error) {
	o, err := s.Storage.Open(ctx, name)
	return o, s.failed(ctx, "open", err)
}

func (s meteredStorage) Delete(ctx context.Context, name string) error {
	return s.failed(ctx, "delete", s.Storage.Delete(ctx, name))
}

func (s meteredStorage) Walk(ctx context.Context, fn func(name string, pending bool, modTime time.Time) error) error {
	return s.failed(ctx, "walk", s.Storage.Walk(ctx, fn))
}

// meteredPending counts a committed upload's size.
type meteredPending struct {
	upload.Pending
	s    meteredStorage
	size int64
}

func (p meteredPending) Commit(ctx context.Context, name string) error {
	if err := p.Pending.Commit(ctx, name); err != nil {
		return p.s.failed(ctx, "commit", err)
	}
	p.s.m.uploads.Inc()
	p.s.m.uploadBytes.Add(float64(p.size))
	return nil
}

func (p meteredPending) Abort(ctx context.Context) error {
	return p.s.failed(context.WithoutCancel(ctx), "abort", p.Pending.Abort(ctx))
}

// countingReader counts the bytes read and keeps the first read error
// other than io.EOF.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// Mail, counted: failed delivery attempts and refused messages.

// meteredSender counts the failed attempts of a mailer.Sender.
type meteredSender struct {
	mailer.Sender
	m *Metrics
}

func (m *Metrics) sender(s mailer.Sender) mailer.Sender { return meteredSender{s, m} }

func (s meteredSender) Send(ctx context.Context, msg mailer.Message) error {
	err := s.Sender.Send(ctx, msg)
	if err != nil {
		s.m.mailErrors.WithLabelValues("send").Inc()
	}
	return err
}

// meteredMailer counts the messages the queue refused (full or closed).
type meteredMailer struct {
	q *mailer.Queue
	m *Metrics
}

var _ pages.Mailer = meteredMailer{}

func (q meteredMailer) Enqueue(msg mailer.Message) error {
	err := q.q.Enqueue(msg)
	if errors.Is(err, mailer.ErrQueueFull) || errors.Is(err, mailer.ErrClosed) {
		q.m.mailErrors.WithLabelValues("enqueue").Inc()
	}
	return err
}
