// Package config reads the bulwark service's configuration from the
// environment (see the table in CONTRACT.md) and audits it.
//
// Load parses and validates every variable and applies the defaults, which
// depend on BULWARK_ENV: production turns every secure default on. A value
// that cannot be understood stops start-up with a *VarError naming the
// variable and the form it wants; secret values are never repeated in
// errors. Load has no side effects: it reads files named by *_FILE
// variables and the development key file, but creates nothing.
//
// Check audits a loaded Config the way Django's `check --deploy` does and
// returns findings with a severity. The service refuses to start in
// production when Check(cfg, false) reports any finding of severity Error,
// so Load accepts some unsafe settings (SESSION_COOKIE_SECURE=false in
// production, say) only for `bulwark check` to explain them.
package config

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/secrets"
)

// The two values of BULWARK_ENV.
const (
	Development = "development"
	Production  = "production"
)

// Config is the service's effective configuration. Secrets are held as
// secrets.Secret, so the whole struct can be logged or printed: they show
// as "[redacted]".
type Config struct {
	Env        string // BULWARK_ENV: Development or Production
	Production bool   // Env == Production

	Addr    string // ADDR, default 127.0.0.1:8080
	DataDir string // DATA_DIR, default ./data

	// SecretKey signs sessions and tokens (SECRET_KEY or SECRET_KEY_FILE).
	// It is zero in development when no key is configured: the service then
	// calls secrets.DevKey(DataDir) at start.
	SecretKey secrets.Secret
	// SecretKeyFallbacks are older keys still accepted when verifying, for
	// rotation (SECRET_KEY_FALLBACKS, comma-separated, or its _FILE).
	SecretKeyFallbacks []secrets.Secret
	// DevKey is true when SecretKey came, or will come, from the development
	// key file DATA_DIR/secret_key. Production refuses it.
	DevKey bool

	// DatabaseURL may hold a password, so it is a Secret (DATABASE_URL or
	// DATABASE_URL_FILE). Default "sqlite://" + DataDir + "/bulwark.db".
	DatabaseURL secrets.Secret
	// RedisURL (REDIS_URL or REDIS_URL_FILE) is zero when unset.
	RedisURL secrets.Secret

	// AllowedHosts are the Host header values the service answers
	// (ALLOWED_HOSTS, Django's meaning): lower-case names without ports; a
	// leading "." also allows subdomains; "*" allows any. Development
	// default: localhost, 127.0.0.1, [::1]; production: required.
	AllowedHosts []string

	// TrustedProxies are the networks whose X-Forwarded-For and
	// X-Forwarded-Proto headers are believed; canonical (masked, IPv4 not
	// mapped into IPv6) and without duplicates.
	TrustedProxies []netip.Prefix

	ForceHTTPS bool          // FORCE_HTTPS, default true in production
	HSTSMaxAge time.Duration // HSTS_MAX_AGE in whole seconds, default one year

	SessionLifetime     time.Duration // SESSION_LIFETIME, default 24h (absolute)
	SessionIdleTimeout  time.Duration // SESSION_IDLE_TIMEOUT, default 2h
	SessionCookieSecure bool          // SESSION_COOKIE_SECURE, default true in production
	SessionMaxPerUser   int           // SESSION_MAX_PER_USER, live sessions per user, default 50

	RateLimitDefault  []ratelimit.Limit // RATELIMIT_DEFAULT, default 100 per minute; 2000 per hour
	RateLimitLogin    []ratelimit.Limit // RATELIMIT_LOGIN, default 5 per minute
	RateLimitAPI      []ratelimit.Limit // RATELIMIT_API, per API key, default 1000 per hour
	RateLimitFailOpen bool              // RATELIMIT_FAIL_OPEN, default false: a limiter error refuses the request

	MaxContentLength int64    // MAX_CONTENT_LENGTH in bytes, default 16 MiB
	UploadDir        string   // UPLOAD_DIR, default DATA_DIR/uploads
	UploadExtensions []string // UPLOAD_EXTENSIONS, lower case without dots, default png,jpg,jpeg,gif,pdf
	// UploadStorage is where uploads are kept (UPLOAD_STORAGE):
	// "file://" + UploadDir by default, or s3://BUCKET?endpoint=URL&region=R.
	UploadStorage     string
	S3AccessKeyID     secrets.Secret // S3_ACCESS_KEY_ID (or _FILE), for s3:// storage
	S3SecretAccessKey secrets.Secret // S3_SECRET_ACCESS_KEY (or _FILE)
	UploadQuota       int64          // UPLOAD_QUOTA in bytes per user, default 100 MiB
	UploadMaxFiles    int            // UPLOAD_MAX_FILES per user, default 1000

	// WebhookSecret is the HMAC-SHA256 key for POST /api/webhook
	// (WEBHOOK_SECRET or WEBHOOK_SECRET_FILE); zero disables the webhook.
	WebhookSecret secrets.Secret
	// WebhookSecretFallbacks are older webhook secrets still accepted
	// during rotation (WEBHOOK_SECRET_FALLBACKS, comma-separated, or its _FILE).
	WebhookSecretFallbacks []secrets.Secret
	PasswordMinLength      int // PASSWORD_MIN_LENGTH, 8 to 64, default 15

	// EventRetention is how long security events are kept
	// (EVENT_RETENTION, a Go duration, default 90 days = 2160h).
	EventRetention time.Duration

	TLSCertFile string // TLS_CERT_FILE; set together with TLSKeyFile
	TLSKeyFile  string // TLS_KEY_FILE
	MetricsAddr string // METRICS_ADDR; empty: no metrics listener
	HTTPAddr    string // HTTP_ADDR; with TLS, a listener that only redirects to https

	LogLevel slog.Level // LOG_LEVEL: debug, info, warn or error; default info

	// BaseURL is the public origin (BASE_URL): scheme://host[:port], lower
	// case, without a path or trailing slash. Links in mail and the
	// WebAuthn relying party are built from it, never from a request's
	// Host header, which a client chooses. Default
	// http://localhost:<port of ADDR>; production wants https (Check).
	BaseURL string
	// SMTPURL is where mail goes (SMTP_URL or SMTP_URL_FILE; it may hold a
	// password): smtp://user:pass@host:587 with STARTTLS, required unless
	// the host is loopback, or smtps:// for implicit TLS. Zero: mail is
	// written to the log in development, and account recovery by mail is
	// off in production.
	SMTPURL secrets.Secret
	// MailFrom is the From address of every mail (MAIL_FROM), default
	// bulwark@<host of BaseURL>.
	MailFrom string
	// EmailVerification is EMAIL_VERIFICATION, django-allauth's names:
	// VerificationOptional (the development default), VerificationMandatory
	// (the production default) or VerificationNone.
	EmailVerification string
}

// The values of EMAIL_VERIFICATION.
const (
	// VerificationOptional signs a new account in at once; the address
	// stays unverified, and some features wait, until the mailed link is
	// followed.
	VerificationOptional = "optional"
	// VerificationMandatory signs a new account in only by the mailed
	// link, and makes registration answer the same for taken addresses.
	VerificationMandatory = "mandatory"
	// VerificationNone sends no verification mail.
	VerificationNone = "none"
)

// MailConfigured reports whether SMTP_URL is set.
func (c *Config) MailConfigured() bool { return !c.SMTPURL.IsZero() }

// RecoveryEnabled reports whether mail-based account recovery (password
// reset, verification links) is on: always in development, where mail
// goes to the log without SMTP_URL, and in production only with SMTP_URL.
func (c *Config) RecoveryEnabled() bool { return !c.Production || c.MailConfigured() }

// DevKeyPath returns where the development key lives:
// DATA_DIR/secret_key.
func (c *Config) DevKeyPath() string {
	return filepath.Join(c.DataDir, secrets.DevKeyFile)
}

// TLS reports whether the service serves HTTPS itself (TLS_CERT_FILE and
// TLS_KEY_FILE are set).
func (c *Config) TLS() bool {
	return c.TLSCertFile != "" && c.TLSKeyFile != ""
}

// DatabaseScheme returns the scheme of DatabaseURL: "sqlite", "postgres"
// or "postgresql". It never reveals the rest of the URL.
func (c *Config) DatabaseScheme() string {
	u := c.DatabaseURL.Reveal()
	defer clear(u)
	if i := bytes.Index(u, []byte("://")); i > 0 {
		return string(bytes.ToLower(u[:i]))
	}
	return ""
}

// RedisOptions parses RedisURL, the one place the service reads it. It is
// nil, nil when REDIS_URL is unset. The error never holds the URL.
func (c *Config) RedisOptions() (*redis.Options, error) {
	if c.RedisURL.IsZero() {
		return nil, nil
	}
	raw := c.RedisURL.Reveal()
	defer clear(raw)
	opts, err := parseRedisURL(raw)
	if err != nil {
		return nil, errors.New("REDIS_URL: cannot be parsed as redis://[user:password@]host:port/db")
	}
	return opts, nil
}
