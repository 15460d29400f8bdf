// Package app is the bulwark service: it wires Bulwark's packages together
// the way a careful application would, and holds the routes, handlers and
// pages. Everything security-relevant lives in the packages; this package
// decides only which protection applies where.
package app

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/headers"
	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/secrets"
	"github.com/bulwarkhq/bulwark/session"
)

// Version is the service's version, set at build time with
// -ldflags "-X github.com/bulwarkhq/bulwark/internal/app.Version=…".
var Version = "dev"

// accountLoginLimit is the per-account budget of failed sign-ins, from any
// address. See README "Login limits" for the trade-off.
const accountLoginLimit = "10 per hour"

// App is a configured bulwark service.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	db       *store.DB
	redis    *redis.Client // nil without REDIS_URL
	hasher   *password.Hasher
	policy   password.Policy
	ips      *clientip.Resolver
	sessions *session.Manager
	csrf     *csrf.Protection
	headers  *headers.Headers
	pages    map[string]*template.Template

	limitStore   ratelimit.Store
	defaultLimit *ratelimit.Limiter
	loginLimit   *ratelimit.Limiter // per client address on POST /login
	accountLimit *ratelimit.Limiter // failed sign-ins per account

	closers []func()
}

// New opens the database (applying migrations) and Redis when configured,
// and builds the service. Close releases what it opened.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	a := &App{cfg: cfg, log: slog.New(requestIDHandler{log.Handler()})}
	if err := a.open(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) open(ctx context.Context) error {
	cfg := a.cfg
	if cfg.SecretKey.IsZero() {
		key, err := secrets.DevKey(cfg.DataDir)
		if err != nil {
			return fmt.Errorf("development secret key: %w", err)
		}
		cfg.SecretKey = key
	}
	db, err := store.Open(ctx, string(cfg.DatabaseURL.Reveal()))
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	a.db = db
	a.closers = append(a.closers, func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}

	var sessionStore scs.Store
	if !cfg.RedisURL.IsZero() {
		opts, err := redis.ParseURL(string(cfg.RedisURL.Reveal()))
		if err != nil {
			return errors.New("REDIS_URL: cannot be parsed as redis://[user:password@]host:port/db")
		}
		a.redis = redis.NewClient(opts)
		a.closers = append(a.closers, func() { a.redis.Close() })
		sessionStore = goredisstore.NewWithPrefix(a.redis, "bulwark:session:")
		a.limitStore = ratelimit.NewRedisStore(a.redis, "bulwark:rl:")
	} else {
		switch db.Dialect() {
		case "postgres":
			s := postgresstore.NewWithCleanupInterval(db.SQL(), 10*time.Minute)
			a.closers = append(a.closers, s.StopCleanup)
			sessionStore = s
		default:
			s := sqlite3store.NewWithCleanupInterval(db.SQL(), 10*time.Minute)
			a.closers = append(a.closers, s.StopCleanup)
			sessionStore = s
		}
		a.limitStore = ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	}

	a.hasher = password.NewHasher(password.Options{})
	a.policy = password.Policy{MinLength: cfg.PasswordMinLength}
	a.ips = clientip.New(cfg.TrustedProxies)
	a.sessions = session.New(sessionStore, sessionIndex{a.db}, session.Config{
		Lifetime:    cfg.SessionLifetime,
		IdleTimeout: cfg.SessionIdleTimeout,
		MaxPerUser:  cfg.SessionMaxPerUser,
		Secure:      cfg.SessionCookieSecure,
		ClientIP:    clientAddr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			a.unavailable(w, r, "session store", err)
		},
	})
	a.csrf, err = csrf.New(csrf.Options{
		Store:          csrfStore{a.sessions},
		ExemptPrefixes: []string{"/api/"},
		ErrorHandler:   http.HandlerFunc(a.csrfFailed),
	})
	if err != nil {
		return fmt.Errorf("csrf: %w", err)
	}
	a.headers = headers.New(headers.Policy{
		ReportURI:      "/csp-report",
		HSTSMaxAge:     cfg.HSTSMaxAge,
		ForceHTTPS:     cfg.ForceHTTPS,
		IsHTTPS:        a.ips.IsHTTPS,
		RedirectExempt: isHealthCheck,
	})
	if a.pages, err = parsePages(); err != nil {
		return err
	}
	a.buildLimiters()
	a.pruneSessionsEvery(10 * time.Minute)
	return nil
}

// pruneSessionsEvery removes expired rows of the session index in the
// background until Close.
func (a *App) pruneSessionsEvery(d time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if err := a.db.PruneSessions(ctx, now); err != nil && ctx.Err() == nil {
					a.log.Warn("prune session index", "error", err)
				}
			}
		}
	}()
	a.closers = append(a.closers, func() { cancel(); <-done })
}

func (a *App) buildLimiters() {
	// Limiters with different names never share a budget in one store.
	byIP := ratelimit.ByIP(a.ips)
	a.defaultLimit = &ratelimit.Limiter{
		Store: a.limitStore, Limits: a.cfg.RateLimitDefault, Name: "default",
		Key: func(r *http.Request) (string, bool) {
			if isHealthCheck(r) || strings.HasPrefix(r.URL.Path, "/static/") {
				return "", false
			}
			return byIP(r)
		},
		FailOpen: a.cfg.RateLimitFailOpen, OnLimited: a.limited, OnError: a.limitUnavailable, Logger: a.log,
	}
	a.loginLimit = &ratelimit.Limiter{
		Store: a.limitStore, Limits: a.cfg.RateLimitLogin, Name: "login", Key: byIP,
		FailOpen:  false, // an authentication route never runs unlimited
		OnLimited: a.limited, OnError: a.limitUnavailable, Logger: a.log,
	}
	perAccount, _ := ratelimit.Parse(accountLoginLimit)
	a.accountLimit = &ratelimit.Limiter{Store: a.limitStore, Limits: perAccount, Name: "account", Logger: a.log}
}

// Close releases the database, Redis and background work.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// Ready reports whether the database (and Redis, when configured) answer.
func (a *App) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.db.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if a.redis != nil {
		if err := a.redis.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}

func isHealthCheck(r *http.Request) bool {
	return r.URL.Path == "/healthz" || r.URL.Path == "/readyz"
}

// sessionIndex keeps the per-user session index in the database, whichever
// store holds the session data, so "sign out everywhere" reaches them all.
type sessionIndex struct{ db *store.DB }

func (x sessionIndex) Add(ctx context.Context, s session.Info) error {
	return x.db.AddSession(ctx, store.SessionInfo{
		Token: s.Token, UserID: s.UserID, CreatedAt: s.CreatedAt, LastSeen: s.LastSeen,
		Expiry: s.Expiry, IP: s.IP, UserAgent: s.UserAgent,
	})
}

func (x sessionIndex) Touch(ctx context.Context, token string, seen time.Time, ip string) error {
	err := x.db.TouchSession(ctx, token, seen, ip)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %w", session.ErrNotFound, err)
	}
	return err
}

func (x sessionIndex) Remove(ctx context.Context, token string) error {
	return x.db.RemoveSession(ctx, token)
}

func (x sessionIndex) List(ctx context.Context, userID int64, now time.Time) ([]session.Info, error) {
	rows, err := x.db.UserSessions(ctx, userID, now)
	if err != nil {
		return nil, err
	}
	out := make([]session.Info, len(rows))
	for i, s := range rows {
		out[i] = session.Info{
			Token: s.Token, UserID: s.UserID, CreatedAt: s.CreatedAt, LastSeen: s.LastSeen,
			Expiry: s.Expiry, IP: s.IP, UserAgent: s.UserAgent,
		}
	}
	return out, nil
}

func (x sessionIndex) RemoveAll(ctx context.Context, userID int64, keep string) ([]string, error) {
	return x.db.RemoveUserSessions(ctx, userID, keep)
}

// csrfStore keeps the CSRF secret in the session, like Flask-WTF.
type csrfStore struct{ m *session.Manager }

const csrfKey = "csrf.secret"

func (s csrfStore) Get(ctx context.Context) []byte    { return s.m.Bytes(ctx, csrfKey) }
func (s csrfStore) Put(ctx context.Context, b []byte) { s.m.SetBytes(ctx, csrfKey, b) }
