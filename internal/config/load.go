package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/secrets"
)

// VarError is a configuration variable Load cannot accept. Its message
// names the variable and the form it wants. Problem repeats the bad value
// only for variables that are not secret.
//
// (It is not called Error because Error is the highest Severity.)
type VarError struct {
	Var     string // the environment variable, e.g. "MAX_CONTENT_LENGTH"
	Problem string // what is wrong and what is wanted
	err     error  // the cause, when there is one worth unwrapping
}

// Error returns "VAR: problem".
func (e *VarError) Error() string { return e.Var + ": " + e.Problem }

// Unwrap returns the cause, such as fs.ErrNotExist for a *_FILE variable
// naming a missing file.
func (e *VarError) Unwrap() error { return e.err }

// Defaults of the variables whose default does not depend on others.
const (
	defaultAddr              = "127.0.0.1:8080"
	defaultDataDir           = "./data"
	defaultHSTSMaxAge        = 31536000 // one year, in seconds
	defaultSessionLifetime   = 24 * time.Hour
	defaultSessionIdle       = 2 * time.Hour
	defaultRateLimit         = "100 per minute; 2000 per hour"
	defaultRateLimitLogin    = "5 per minute"
	defaultRateLimitAPI      = "1000 per hour"
	defaultMaxContentLength  = 16 << 20
	defaultUploadExtensions  = "png,jpg,jpeg,gif,pdf"
	defaultUploadQuota       = 100 << 20
	defaultUploadMaxFiles    = 1000
	defaultPasswordMinLength = 15
	defaultSessionMaxPerUser = 50
	defaultEventRetention    = 90 * 24 * time.Hour
	minPasswordMinLength     = 8
	maxPasswordMinLength     = 64 // 64-character passwords must always be accepted
)

const genKeyHint = "64 random hex characters (openssl rand -hex 32)"

// Load reads the configuration through getenv (os.Getenv, or a map lookup
// in tests), applies the defaults and validates every value. It returns a
// *VarError for the first variable it cannot accept.
//
// In production (BULWARK_ENV=production) a SECRET_KEY is required, must
// pass secrets.CheckStrength and must not be the development key (the file
// DATA_DIR/secret_key, named by SECRET_KEY_FILE or copied into SECRET_KEY).
// In development, with no SECRET_KEY, Load sets DevKey and leaves SecretKey
// zero: the service calls secrets.DevKey when it starts serving.
func Load(getenv func(string) string) (*Config, error) {
	l := loader{getenv: getenv}
	c := &Config{}

	switch env := strings.ToLower(l.get("BULWARK_ENV")); env {
	case "", Development:
		c.Env = Development
	case Production:
		c.Env = Production
		c.Production = true
	default:
		return nil, l.bad("BULWARK_ENV", "want development or production")
	}

	c.Addr = l.addr("ADDR", defaultAddr)
	c.DataDir = l.path("DATA_DIR", defaultDataDir)
	l.secretKey(c)
	c.SecretKeyFallbacks = l.secretList("SECRET_KEY_FALLBACKS")

	if u, ok := l.secret("DATABASE_URL"); ok {
		c.DatabaseURL = u
		l.check("DATABASE_URL", validDatabaseURL(u.Reveal()),
			"want a URL starting with sqlite://, postgres:// or postgresql://")
	} else if l.err == nil {
		c.DatabaseURL = secrets.New([]byte("sqlite://" + c.DataDir + "/bulwark.db"))
	}
	if u, ok := l.secret("REDIS_URL"); ok {
		c.RedisURL = u
		l.check("REDIS_URL", validRedisURL(u.Reveal()),
			"want a URL like redis://:PASSWORD@HOST:6379/0 or rediss://HOST:6380/0")
	}

	c.AllowedHosts = l.hosts("ALLOWED_HOSTS", c.Production)
	c.TrustedProxies = l.proxies("TRUSTED_PROXIES")
	c.ForceHTTPS = l.bool("FORCE_HTTPS", c.Production)
	c.HSTSMaxAge = l.seconds("HSTS_MAX_AGE", defaultHSTSMaxAge)
	c.SessionLifetime = l.duration("SESSION_LIFETIME", defaultSessionLifetime)
	c.SessionIdleTimeout = l.duration("SESSION_IDLE_TIMEOUT", defaultSessionIdle)
	c.SessionCookieSecure = l.bool("SESSION_COOKIE_SECURE", c.Production)
	c.SessionMaxPerUser = l.count("SESSION_MAX_PER_USER", defaultSessionMaxPerUser, 1, 10000)
	c.RateLimitDefault = l.limits("RATELIMIT_DEFAULT", defaultRateLimit)
	c.RateLimitLogin = l.limits("RATELIMIT_LOGIN", defaultRateLimitLogin)
	c.RateLimitAPI = l.limits("RATELIMIT_API", defaultRateLimitAPI)
	c.RateLimitFailOpen = l.bool("RATELIMIT_FAIL_OPEN", false)
	c.MaxContentLength = l.size("MAX_CONTENT_LENGTH", defaultMaxContentLength)
	c.UploadDir = l.path("UPLOAD_DIR", filepath.Join(c.DataDir, "uploads"))
	c.UploadExtensions = l.extensions("UPLOAD_EXTENSIONS", defaultUploadExtensions)
	c.UploadStorage = l.uploadStorage("UPLOAD_STORAGE", "file://"+c.UploadDir)
	c.S3AccessKeyID, _ = l.secret("S3_ACCESS_KEY_ID")
	c.S3SecretAccessKey, _ = l.secret("S3_SECRET_ACCESS_KEY")
	if l.err == nil && strings.HasPrefix(c.UploadStorage, "s3://") && (c.S3AccessKeyID.IsZero() || c.S3SecretAccessKey.IsZero()) {
		l.fail("UPLOAD_STORAGE", "s3:// storage needs S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or their _FILE forms)", nil)
	}
	c.UploadQuota = l.size("UPLOAD_QUOTA", defaultUploadQuota)
	c.UploadMaxFiles = l.count("UPLOAD_MAX_FILES", defaultUploadMaxFiles, 1, 1_000_000)
	c.WebhookSecret, _ = l.secret("WEBHOOK_SECRET")
	c.WebhookSecretFallbacks = l.secretList("WEBHOOK_SECRET_FALLBACKS")
	c.PasswordMinLength = l.passwordMinLength("PASSWORD_MIN_LENGTH")
	c.EventRetention = l.duration("EVENT_RETENTION", defaultEventRetention)

	c.TLSCertFile = l.path("TLS_CERT_FILE", "")
	c.TLSKeyFile = l.path("TLS_KEY_FILE", "")
	if l.err == nil && (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		missing, other := "TLS_KEY_FILE", "TLS_CERT_FILE"
		if c.TLSCertFile == "" {
			missing, other = other, missing
		}
		l.fail(missing, "must be set together with "+other+" (to serve HTTPS), or both left unset", nil)
	}
	c.MetricsAddr = l.addr("METRICS_ADDR", "")
	c.HTTPAddr = l.addr("HTTP_ADDR", "")
	c.LogLevel = l.logLevel("LOG_LEVEL")

	c.BaseURL = l.baseURL("BASE_URL", c.Addr)
	if u, ok := l.secret("SMTP_URL"); ok {
		c.SMTPURL = u
		l.check("SMTP_URL", validSMTPURL(u.Reveal()),
			"want smtp://USER:PASSWORD@HOST:587 (STARTTLS) or smtps://USER:PASSWORD@HOST:465 (implicit TLS)")
	}
	c.MailFrom = l.mailFrom("MAIL_FROM", c.BaseURL)
	c.EmailVerification = l.emailVerification("EMAIL_VERIFICATION", c.Production)

	if l.err != nil {
		return nil, l.err
	}
	return c, nil
}

// loader reads variables and keeps the first error; after an error every
// method is a no-op returning zero values, so Load reads top to bottom.
type loader struct {
	getenv func(string) string
	err    *VarError
}

// get returns the variable with surrounding spaces removed (not for
// secrets, whose bytes are kept as given).
func (l *loader) get(name string) string {
	return strings.TrimSpace(l.getenv(name))
}

func (l *loader) fail(name, problem string, cause error) {
	if l.err == nil {
		l.err = &VarError{Var: name, Problem: problem, err: cause}
	}
}

// bad records "want ..., got VALUE" for a variable that is not secret.
func (l *loader) bad(name, want string) *VarError {
	l.fail(name, want+", got "+quote(l.get(name)), nil)
	return l.err
}

func (l *loader) check(name string, ok bool, want string) {
	if !ok {
		l.fail(name, want, nil) // secret: no value in the message
	}
}

// quote shows a bad value safely in one line, shortened if long.
func quote(v string) string {
	const max = 64
	if len(v) > max {
		v = v[:max] + "…"
	}
	return strconv.Quote(v)
}

func (l *loader) addr(name, def string) string {
	v := l.get(name)
	if l.err != nil || v == "" {
		return def
	}
	if !validAddr(v) {
		l.bad(name, "want HOST:PORT such as 127.0.0.1:8080, localhost:8080 or :8080")
		return ""
	}
	return v
}

func (l *loader) path(name, def string) string {
	v := l.get(name)
	if l.err != nil || v == "" {
		return def
	}
	if strings.ContainsRune(v, 0) {
		l.bad(name, "want a file system path")
		return ""
	}
	return v
}

func (l *loader) bool(name string, def bool) bool {
	v := l.get(name)
	if l.err != nil || v == "" {
		return def
	}
	b, ok := parseBool(v)
	if !ok {
		l.bad(name, "want true or false (or 1/0, yes/no)")
	}
	return b
}

func (l *loader) seconds(name string, def int64) time.Duration {
	v := l.get(name)
	if l.err != nil {
		return 0
	}
	n := def
	if v != "" {
		var err error
		n, err = strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(time.Second) {
			l.bad(name, "want a whole number of seconds such as 31536000 (one year)")
			return 0
		}
	}
	return time.Duration(n) * time.Second
}

func (l *loader) duration(name string, def time.Duration) time.Duration {
	v := l.get(name)
	if l.err != nil || v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		l.bad(name, "want a positive duration such as 24h, 90m or 2h30m")
		return 0
	}
	return d
}

// defaultAllowedHosts are the development hosts; production has none and
// must name its own.
var defaultAllowedHosts = []string{"localhost", "127.0.0.1", "[::1]"}

// hosts reads ALLOWED_HOSTS: host names without ports (Django's form), "."
// before a name to allow its subdomains too, or "*" for any host.
func (l *loader) hosts(name string, production bool) []string {
	v := l.get(name)
	if l.err != nil {
		return nil
	}
	if v == "" {
		if production {
			return nil // Check reports it; Load cannot guess the public name
		}
		return defaultAllowedHosts
	}
	var out []string
	for _, h := range strings.Split(v, ",") {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if !validAllowedHost(h) {
			l.bad(name, "want host names without ports, comma-separated, like example.com,.example.org")
			return nil
		}
		out = append(out, h)
	}
	return out
}

// uploadStorage reads UPLOAD_STORAGE: file://PATH, or
// s3://BUCKET?endpoint=URL&region=R (its keys are separate secrets).
func (l *loader) uploadStorage(name, def string) string {
	v := l.get(name)
	if l.err != nil || v == "" {
		return def
	}
	switch {
	case strings.HasPrefix(v, "file://") && len(v) > len("file://") && !strings.ContainsRune(v, 0):
		return v
	case strings.HasPrefix(v, "s3://") && len(v) > len("s3://") && !strings.ContainsAny(v, "\x00@"):
		return v
	}
	l.bad(name, "want file://PATH or s3://BUCKET?endpoint=URL&region=REGION (keys in S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY)")
	return ""
}

func (l *loader) limits(name, def string) []ratelimit.Limit {
	v := l.get(name)
	if l.err != nil {
		return nil
	}
	if v == "" {
		v = def
	}
	ls, err := ratelimit.Parse(v)
	if err != nil {
		l.fail(name, strings.TrimPrefix(err.Error(), "ratelimit: "), err)
		return nil
	}
	return ls
}

func (l *loader) size(name string, def int64) int64 {
	v := l.get(name)
	if l.err != nil || v == "" {
		return def
	}
	n, err := parseSize(v)
	if err != nil || n <= 0 {
		l.bad(name, "want a size like 16MiB, 16MB or a number of bytes")
		return 0
	}
	return n
}

func (l *loader) proxies(name string) []netip.Prefix {
	v := l.get(name)
	if l.err != nil || v == "" {
		return nil
	}
	ps, err := parseProxies(v)
	if err != nil {
		l.fail(name, "want comma-separated networks or addresses such as 10.0.0.0/8, 192.168.1.10 or fd00::/8; "+err.Error(), nil)
		return nil
	}
	return ps
}

func (l *loader) extensions(name, def string) []string {
	v := l.get(name)
	if l.err != nil {
		return nil
	}
	if v == "" {
		v = def
	}
	exts, ok := parseExtensions(v)
	if !ok {
		l.bad(name, "want comma-separated file extensions such as png,jpg,pdf")
		return nil
	}
	return exts
}

// count reads a whole number from lo to hi.
func (l *loader) count(name string, def, lo, hi int) int {
	v := l.get(name)
	if l.err != nil || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		l.bad(name, fmt.Sprintf("want a whole number from %d to %d", lo, hi))
		return 0
	}
	return n
}

func (l *loader) passwordMinLength(name string) int {
	v := l.get(name)
	if l.err != nil || v == "" {
		return defaultPasswordMinLength
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minPasswordMinLength || n > maxPasswordMinLength {
		l.bad(name, "want a whole number from 8 to 64 (NIST SP 800-63B-4: 15 for password-only sign-in, never below 8; 64-character passwords must stay possible)")
		return 0
	}
	return n
}

func (l *loader) logLevel(name string) (level slog.Level) {
	v := strings.ToLower(l.get(name))
	if l.err != nil {
		return level
	}
	switch v {
	case "debug":
		return slog.LevelDebug
	case "", "info":
		return slog.LevelInfo
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	l.bad(name, "want debug, info, warn or error")
	return level
}

// baseURL reads BASE_URL; the default is http://localhost:<port of ADDR>.
func (l *loader) baseURL(name, addr string) string {
	v := l.get(name)
	if l.err != nil {
		return ""
	}
	if v == "" {
		_, port, _ := net.SplitHostPort(addr)
		if port == "" || port == "0" {
			return "http://localhost"
		}
		return "http://localhost:" + port
	}
	u, ok := parseBaseURL(v)
	if !ok {
		l.bad(name, "want the public origin, such as https://bulwark.example.com (no path, query or user)")
		return ""
	}
	return u
}

// mailFrom reads MAIL_FROM, an address with an optional display name;
// the default is bulwark@<host of BASE_URL>.
func (l *loader) mailFrom(name, baseURL string) string {
	v := l.get(name)
	if l.err != nil {
		return ""
	}
	if v == "" {
		u, err := url.Parse(baseURL)
		if err != nil {
			return ""
		}
		return "bulwark@" + u.Hostname()
	}
	if _, err := mail.ParseAddress(v); err != nil || strings.ContainsAny(v, "\r\n") {
		l.bad(name, "want a mail address such as bulwark@example.com or \"Bulwark <bulwark@example.com>\"")
		return ""
	}
	return v
}

func (l *loader) emailVerification(name string, production bool) string {
	v := strings.ToLower(l.get(name))
	if l.err != nil {
		return ""
	}
	switch v {
	case "":
		if production {
			return VerificationMandatory
		}
		return VerificationOptional
	case VerificationOptional, VerificationMandatory, VerificationNone:
		return v
	}
	l.bad(name, "want optional, mandatory or none")
	return ""
}

// secret reads NAME or NAME_FILE. Errors name NAME_FILE when the file was
// the problem, and never contain the value.
func (l *loader) secret(name string) (secrets.Secret, bool) {
	if l.err != nil {
		return secrets.Secret{}, false
	}
	s, ok, err := secrets.FromEnv(l.getenv, name)
	if err != nil {
		v := name
		if l.getenv(name) == "" {
			v = name + "_FILE"
		}
		msg := strings.TrimPrefix(err.Error(), "secrets: ")
		msg = strings.TrimPrefix(msg, v+": ")
		l.fail(v, msg, err)
		return secrets.Secret{}, false
	}
	return s, ok
}

// secretList reads a comma-separated list of secrets; spaces around each
// item are dropped, and empty items skipped.
func (l *loader) secretList(name string) []secrets.Secret {
	s, ok := l.secret(name)
	if !ok {
		return nil
	}
	raw := s.Reveal()
	defer clear(raw)
	var out []secrets.Secret
	for _, item := range bytes.Split(raw, []byte(",")) {
		if item = bytes.TrimSpace(item); len(item) > 0 {
			out = append(out, secrets.New(item))
		}
	}
	return out
}

// secretKey loads SECRET_KEY and applies the production rules.
func (l *loader) secretKey(c *Config) {
	key, ok := l.secret("SECRET_KEY")
	if l.err != nil {
		return
	}
	devPath := c.DevKeyPath()
	if !ok {
		if c.Production {
			l.fail("SECRET_KEY", "required in production; set SECRET_KEY or SECRET_KEY_FILE to "+genKeyHint, nil)
			return
		}
		c.DevKey = true
		return
	}
	isDev := isDevKey(key, l.get("SECRET_KEY_FILE"), devPath)
	if c.Production {
		if isDev {
			l.fail("SECRET_KEY", "is the development key from "+devPath+", which production must not use; set SECRET_KEY or SECRET_KEY_FILE to a new key of "+genKeyHint, nil)
			return
		}
		if err := secrets.CheckStrength(key.Reveal()); err != nil {
			l.fail("SECRET_KEY", strengthProblem(err)+"; production needs "+genKeyHint, err)
			return
		}
	}
	c.SecretKey = key
	c.DevKey = isDev
}

// isDevKey reports whether key is the development key: SECRET_KEY_FILE
// names the key file, or the value equals the file's content.
func isDevKey(key secrets.Secret, keyFile, devPath string) bool {
	if keyFile != "" && samePath(keyFile, devPath) {
		return true
	}
	dev, err := secrets.FromFile(devPath)
	return err == nil && dev.Equal(key)
}

// samePath reports whether a and b name the same file, by path or (when
// both exist) by identity, so links and relative paths are seen through.
func samePath(a, b string) bool {
	if absA, err := filepath.Abs(a); err == nil {
		if absB, err := filepath.Abs(b); err == nil && absA == absB {
			return true
		}
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// strengthProblem turns a secrets.CheckStrength error into the end of a
// sentence starting with the variable's name.
func strengthProblem(err error) string {
	for _, e := range []error{secrets.ErrKeyKnown, secrets.ErrKeyTooShort, secrets.ErrKeyLowEntropy} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "is not a usable key"
}
