// Package app is the bulwark service's composition root. Open opens the
// backends once — database, session store, limit store, password hasher —
// and refuses an unsafe production configuration; NewHandler hands each
// handler group (pages, api) only what it uses and mounts them in one
// routes table. Everything security-relevant lives in the packages; this
// package decides only which protection applies where.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bulwarkhq/bulwark/internal/app/files"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/mailer"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/ratelimit/redisstore"
	"github.com/bulwarkhq/bulwark/secrets"
)

// Version is the service's version, set at build time with
// -ldflags "-X github.com/bulwarkhq/bulwark/internal/app.Version=…".
var Version = "dev"

// Deps are the backends the service runs on. Open fills every field; a test
// may replace one (a cheap Hasher, say) before passing Deps to NewHandler.
type Deps struct {
	Config *config.Config // read-only after config.Load
	Log    *slog.Logger   // adds the request id to records logged with a request's context

	DB       *store.DB
	Redis    *redis.Client // nil without REDIS_URL
	Sessions scs.Store     // session data: Redis, or the database
	Limits   ratelimit.Store
	Hasher   *password.Hasher
	Files    *files.Service // uploads, on UPLOAD_STORAGE
	// Mail queues outgoing mail (see openMail); nil in production without
	// SMTP_URL, which turns password reset off.
	Mail *mailer.Queue

	// SecretKeys are SECRET_KEY (or the development key) followed by
	// SECRET_KEY_FALLBACKS: the first signs, all verify.
	SecretKeys [][]byte

	// Now is the clock of time-bound checks that tests move (the two-step
	// sign-in's five minutes, TOTP codes); nil is time.Now.
	Now func() time.Time

	// Metrics count what the service does, served on METRICS_ADDR only
	// (see metrics.go). Open wires them into the backends it builds.
	Metrics *Metrics

	closers []func()
}

// UnsafeConfigError is returned by Open in production when `bulwark check`
// reports errors: the service refuses to start.
type UnsafeConfigError struct{ Findings []config.Finding }

func (e *UnsafeConfigError) Error() string {
	lines := make([]string, len(e.Findings))
	for i, f := range e.Findings {
		lines[i] = f.String()
	}
	return "refusing to start in production:\n" + strings.Join(lines, "\n")
}

// Open checks cfg, opens the database (applying migrations) and Redis when
// configured, and builds the shared backends. Close releases them.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Deps, error) {
	if cfg.Production {
		var bad []config.Finding
		for _, f := range config.Check(cfg, false) {
			if f.Severity == config.Error {
				bad = append(bad, f)
			}
		}
		if len(bad) > 0 {
			return nil, &UnsafeConfigError{bad}
		}
	}
	d := &Deps{Config: cfg, Log: slog.New(web.LogHandler{Handler: log.Handler()}), Metrics: newMetrics()}
	if err := d.open(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Deps) open(ctx context.Context) error {
	cfg := d.Config
	key := cfg.SecretKey
	if key.IsZero() {
		var err error
		if key, err = secrets.DevKey(cfg.DataDir); err != nil {
			return fmt.Errorf("development secret key: %w", err)
		}
	}
	d.SecretKeys = append(d.SecretKeys, key.Reveal())
	for _, k := range cfg.SecretKeyFallbacks {
		d.SecretKeys = append(d.SecretKeys, k.Reveal())
	}

	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	d.DB = db
	d.closers = append(d.closers, func() { _ = db.Close() })

	opts, err := cfg.RedisOptions()
	if err != nil {
		return err
	}
	if opts != nil {
		d.Redis = redis.NewClient(opts)
		d.closers = append(d.closers, func() { _ = d.Redis.Close() })
		d.Sessions = goredisstore.NewWithPrefix(d.Redis, "bulwark:session:")
		d.Limits = redisstore.New(d.Redis, "bulwark:rl:")
	} else {
		// Reads from the reader pool, writes through the writer (see
		// store.SessionData).
		d.Sessions = db.SessionData()
		d.every(10*time.Minute, "delete expired sessions", db.DeleteExpiredSessions)
		d.Limits = ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	}
	d.Hasher = password.NewHasher(password.Options{OnWait: d.Metrics.observeHashWait})
	if d.Files, err = openFiles(ctx, cfg, db, d.Log, d.Metrics); err != nil {
		return err
	}
	// Reconcile storage with the rows now (a crash may have left either
	// without the other) and then every hour.
	if err := d.Files.Sweep(ctx, time.Now()); err != nil {
		d.Log.Warn("sweep uploads", "error", err)
	}
	d.every(time.Hour, "sweep uploads", d.Files.Sweep)
	d.every(10*time.Minute, "prune session index", db.PruneSessions)
	d.every(10*time.Minute, "prune webhook signatures", db.PruneWebhookSignatures)
	if err := d.openMail(); err != nil {
		return err
	}
	d.every(10*time.Minute, "prune mailed tokens", db.PruneTokens)
	d.every(time.Hour, "prune security events", func(ctx context.Context, now time.Time) error {
		return db.PruneEvents(ctx, now.Add(-cfg.EventRetention))
	})
	return nil
}

// openDB opens DATABASE_URL and applies the migrations.
func openDB(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	db, err := store.Open(ctx, string(cfg.DatabaseURL.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close() // the migration error is the one to report
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	return db, nil
}

// every runs job in the background every interval until Close.
func (d *Deps) every(interval time.Duration, what string, job func(context.Context, time.Time) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if err := job(ctx, now); err != nil && ctx.Err() == nil {
					d.Log.Warn(what, "error", err)
				}
			}
		}
	}()
	d.closers = append(d.closers, func() { cancel(); <-done })
}

// Close releases the database, Redis and background work.
func (d *Deps) Close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

// Ready reports whether the database (and Redis, when configured) answer.
func (d *Deps) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.DB.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if d.Redis != nil {
		if err := d.Redis.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}
