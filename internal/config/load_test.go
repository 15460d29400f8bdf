package config

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/secrets"
)

// strongKey is a test-only key that passes secrets.CheckStrength.
const strongKey = "b61d296e25a3ccc402b75c1a22e80c45bd84577e28e83404ad166886396cbe03"

func env(kv ...string) func(string) string {
	m := make(map[string]string)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func mustLoad(t *testing.T, getenv func(string) string) *Config {
	t.Helper()
	c, err := Load(getenv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoadDevelopmentDefaults(t *testing.T) {
	c := mustLoad(t, env())
	want := &Config{
		Env:                Development,
		Addr:               "127.0.0.1:8080",
		DataDir:            "./data",
		DevKey:             true,
		HSTSMaxAge:         31536000 * time.Second,
		SessionLifetime:    24 * time.Hour,
		SessionIdleTimeout: 2 * time.Hour,
		SessionMaxPerUser:  50,
		RateLimitDefault:   []ratelimit.Limit{{Count: 100, Period: time.Minute}, {Count: 2000, Period: time.Hour}},
		RateLimitLogin:     []ratelimit.Limit{{Count: 5, Period: time.Minute}},
		RateLimitAPI:       []ratelimit.Limit{{Count: 1000, Period: time.Hour}},
		MaxContentLength:   16 << 20,
		UploadDir:          filepath.Join("./data", "uploads"),
		UploadExtensions:   []string{"png", "jpg", "jpeg", "gif", "pdf"},
		UploadStorage:      "file://data/uploads",
		UploadQuota:        100 << 20,
		UploadMaxFiles:     1000,
		PasswordMinLength:  15,
		LogLevel:           slog.LevelInfo,
		AllowedHosts:       []string{"localhost", "127.0.0.1", "[::1]"},
		EventRetention:     90 * 24 * time.Hour,
		BaseURL:            "http://localhost:8080",
		MailFrom:           "bulwark@localhost",
		EmailVerification:  "optional",
	}
	// Secrets hold functions and cannot be compared with DeepEqual: check
	// them apart.
	if got := string(c.DatabaseURL.Reveal()); got != "sqlite://./data/bulwark.db" {
		t.Errorf("DatabaseURL = %q", got)
	}
	if !c.SecretKey.IsZero() || !c.RedisURL.IsZero() || !c.WebhookSecret.IsZero() || c.SecretKeyFallbacks != nil || !c.SMTPURL.IsZero() {
		t.Error("secrets set by default")
	}
	c.DatabaseURL = secrets.Secret{}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if c.DatabaseScheme() != "" { // cleared above
		t.Error("DatabaseScheme of zero URL")
	}
}

func TestLoadProductionDefaults(t *testing.T) {
	c := mustLoad(t, env("BULWARK_ENV", "production", "SECRET_KEY", strongKey))
	if !c.Production || c.Env != Production || !c.ForceHTTPS || !c.SessionCookieSecure || c.DevKey {
		t.Errorf("production defaults not secure: %+v", c)
	}
	if string(c.SecretKey.Reveal()) != strongKey {
		t.Error("SECRET_KEY not loaded as given")
	}
	if c.DatabaseScheme() != "sqlite" {
		t.Errorf("DatabaseScheme = %q", c.DatabaseScheme())
	}
	if c.EmailVerification != VerificationMandatory || c.RecoveryEnabled() {
		t.Errorf("production mail defaults: verification %q, recovery without SMTP_URL %v", c.EmailVerification, c.RecoveryEnabled())
	}
	// Secure defaults can be turned off explicitly; Check reports it.
	c = mustLoad(t, env("BULWARK_ENV", "Production", "SECRET_KEY", strongKey, "FORCE_HTTPS", "false", "SESSION_COOKIE_SECURE", "no"))
	if c.ForceHTTPS || c.SessionCookieSecure {
		t.Error("explicit false ignored")
	}
}

// TestLoadVariables covers every variable with good and bad values.
func TestLoadVariables(t *testing.T) {
	dir := t.TempDir()
	fileWith := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyFile := fileWith("key", strongKey+"\n")
	fallbackFile := fileWith("fallbacks", "old-key-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, old-key-two\n")
	dbFile := fileWith("db", "postgres://bulwark:pw@db:5432/bulwark?sslmode=verify-full\n")
	redisFile := fileWith("redis", "rediss://:pw@cache:6380/0\n")
	hookFile := fileWith("hook", "whsec_0123456789abcdef\n")

	type check func(*Config) bool
	good := []struct {
		env  []string
		want check
	}{
		{[]string{"BULWARK_ENV", "development"}, func(c *Config) bool { return c.Env == Development && !c.Production }},
		{[]string{"BULWARK_ENV", " DEVELOPMENT "}, func(c *Config) bool { return c.Env == Development }},
		{[]string{"ADDR", ":9000"}, func(c *Config) bool { return c.Addr == ":9000" }},
		{[]string{"ADDR", "[::1]:8443"}, func(c *Config) bool { return c.Addr == "[::1]:8443" }},
		{[]string{"ADDR", "localhost:80"}, func(c *Config) bool { return c.Addr == "localhost:80" }},
		{[]string{"DATA_DIR", "/var/lib/bulwark"}, func(c *Config) bool {
			return c.DataDir == "/var/lib/bulwark" && c.UploadDir == "/var/lib/bulwark/uploads" &&
				string(c.DatabaseURL.Reveal()) == "sqlite:///var/lib/bulwark/bulwark.db" && c.DevKeyPath() == "/var/lib/bulwark/secret_key"
		}},
		{[]string{"SECRET_KEY", " key with spaces kept as given "}, func(c *Config) bool {
			return string(c.SecretKey.Reveal()) == " key with spaces kept as given " && !c.DevKey
		}},
		{[]string{"SECRET_KEY_FILE", keyFile}, func(c *Config) bool { return string(c.SecretKey.Reveal()) == strongKey }},
		{[]string{"SECRET_KEY_FALLBACKS", "a1, b2 ,,c3"}, func(c *Config) bool {
			return len(c.SecretKeyFallbacks) == 3 && string(c.SecretKeyFallbacks[1].Reveal()) == "b2"
		}},
		{[]string{"SECRET_KEY_FALLBACKS_FILE", fallbackFile}, func(c *Config) bool {
			return len(c.SecretKeyFallbacks) == 2 && string(c.SecretKeyFallbacks[1].Reveal()) == "old-key-two"
		}},
		{[]string{"DATABASE_URL", "sqlite:///tmp/x.db"}, func(c *Config) bool { return c.DatabaseScheme() == "sqlite" }},
		{[]string{"DATABASE_URL", "postgres://u:p@h/db"}, func(c *Config) bool { return c.DatabaseScheme() == "postgres" }},
		{[]string{"DATABASE_URL", "postgresql:///db?host=/run/postgresql"}, func(c *Config) bool { return c.DatabaseScheme() == "postgresql" }},
		{[]string{"DATABASE_URL_FILE", dbFile}, func(c *Config) bool {
			return string(c.DatabaseURL.Reveal()) == "postgres://bulwark:pw@db:5432/bulwark?sslmode=verify-full"
		}},
		{[]string{"REDIS_URL", "redis://localhost:6379/0"}, func(c *Config) bool { return string(c.RedisURL.Reveal()) == "redis://localhost:6379/0" }},
		{[]string{"REDIS_URL_FILE", redisFile}, func(c *Config) bool { return string(c.RedisURL.Reveal()) == "rediss://:pw@cache:6380/0" }},
		{[]string{"TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.10 ,fd00::/8,::ffff:172.16.0.1,10.1.2.3/8"}, func(c *Config) bool {
			return reflect.DeepEqual(c.TrustedProxies, []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.10/32"),
				netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("172.16.0.1/32"),
			})
		}},
		{[]string{"FORCE_HTTPS", "TRUE"}, func(c *Config) bool { return c.ForceHTTPS }},
		{[]string{"FORCE_HTTPS", "1"}, func(c *Config) bool { return c.ForceHTTPS }},
		{[]string{"FORCE_HTTPS", "yes"}, func(c *Config) bool { return c.ForceHTTPS }},
		{[]string{"HSTS_MAX_AGE", "0"}, func(c *Config) bool { return c.HSTSMaxAge == 0 }},
		{[]string{"HSTS_MAX_AGE", "63072000"}, func(c *Config) bool { return c.HSTSMaxAge == 2*365*24*time.Hour }},
		{[]string{"SESSION_LIFETIME", "12h30m"}, func(c *Config) bool { return c.SessionLifetime == 12*time.Hour+30*time.Minute }},
		{[]string{"SESSION_IDLE_TIMEOUT", "15m"}, func(c *Config) bool { return c.SessionIdleTimeout == 15*time.Minute }},
		{[]string{"SESSION_COOKIE_SECURE", "true"}, func(c *Config) bool { return c.SessionCookieSecure }},
		{[]string{"SESSION_MAX_PER_USER", "5"}, func(c *Config) bool { return c.SessionMaxPerUser == 5 }},
		{[]string{"RATELIMIT_DEFAULT", "200 per day; 50 per hour"}, func(c *Config) bool {
			return reflect.DeepEqual(c.RateLimitDefault, []ratelimit.Limit{{Count: 200, Period: 24 * time.Hour}, {Count: 50, Period: time.Hour}})
		}},
		{[]string{"RATELIMIT_LOGIN", "3/minute"}, func(c *Config) bool {
			return reflect.DeepEqual(c.RateLimitLogin, []ratelimit.Limit{{Count: 3, Period: time.Minute}})
		}},
		{[]string{"RATELIMIT_FAIL_OPEN", "true"}, func(c *Config) bool { return c.RateLimitFailOpen }},
		{[]string{"MAX_CONTENT_LENGTH", "1048576"}, func(c *Config) bool { return c.MaxContentLength == 1<<20 }},
		{[]string{"MAX_CONTENT_LENGTH", "16MB"}, func(c *Config) bool { return c.MaxContentLength == 16e6 }},
		{[]string{"MAX_CONTENT_LENGTH", "16mib"}, func(c *Config) bool { return c.MaxContentLength == 16<<20 }},
		{[]string{"MAX_CONTENT_LENGTH", "512 KiB"}, func(c *Config) bool { return c.MaxContentLength == 512<<10 }},
		{[]string{"MAX_CONTENT_LENGTH", "2GB"}, func(c *Config) bool { return c.MaxContentLength == 2e9 }},
		{[]string{"MAX_CONTENT_LENGTH", "1GiB"}, func(c *Config) bool { return c.MaxContentLength == 1<<30 }},
		{[]string{"MAX_CONTENT_LENGTH", "10kb"}, func(c *Config) bool { return c.MaxContentLength == 10000 }},
		{[]string{"UPLOAD_DIR", "/srv/uploads"}, func(c *Config) bool { return c.UploadDir == "/srv/uploads" }},
		{[]string{"UPLOAD_EXTENSIONS", ".PNG, txt,png"}, func(c *Config) bool { return reflect.DeepEqual(c.UploadExtensions, []string{"png", "txt"}) }},
		{[]string{"WEBHOOK_SECRET", "whsec_abc"}, func(c *Config) bool { return string(c.WebhookSecret.Reveal()) == "whsec_abc" }},
		{[]string{"WEBHOOK_SECRET_FILE", hookFile}, func(c *Config) bool { return string(c.WebhookSecret.Reveal()) == "whsec_0123456789abcdef" }},
		{[]string{"PASSWORD_MIN_LENGTH", "8"}, func(c *Config) bool { return c.PasswordMinLength == 8 }},
		{[]string{"PASSWORD_MIN_LENGTH", "64"}, func(c *Config) bool { return c.PasswordMinLength == 64 }},
		{[]string{"TLS_CERT_FILE", "/c.pem", "TLS_KEY_FILE", "/k.pem"}, func(c *Config) bool {
			return c.TLS() && c.TLSCertFile == "/c.pem" && c.TLSKeyFile == "/k.pem"
		}},
		{[]string{"METRICS_ADDR", "127.0.0.1:9090"}, func(c *Config) bool { return c.MetricsAddr == "127.0.0.1:9090" }},
		{[]string{"HTTP_ADDR", ":80"}, func(c *Config) bool { return c.HTTPAddr == ":80" }},
		{[]string{"LOG_LEVEL", "debug"}, func(c *Config) bool { return c.LogLevel == slog.LevelDebug }},
		{[]string{"LOG_LEVEL", "WARN"}, func(c *Config) bool { return c.LogLevel == slog.LevelWarn }},
		{[]string{"LOG_LEVEL", "error"}, func(c *Config) bool { return c.LogLevel == slog.LevelError }},
		{[]string{"ADDR", ":9000"}, func(c *Config) bool { return c.BaseURL == "http://localhost:9000" }},
		{[]string{"BASE_URL", "HTTPS://Bulwark.Example.com/"}, func(c *Config) bool {
			return c.BaseURL == "https://bulwark.example.com" && c.MailFrom == "bulwark@bulwark.example.com"
		}},
		{[]string{"BASE_URL", "https://[::1]:8443"}, func(c *Config) bool { return c.BaseURL == "https://[::1]:8443" }},
		{[]string{"SMTP_URL", "smtp://u:p%40ss@mail.example.com:587"}, func(c *Config) bool {
			return c.MailConfigured() && string(c.SMTPURL.Reveal()) == "smtp://u:p%40ss@mail.example.com:587"
		}},
		{[]string{"SMTP_URL", "smtps://mail.example.com"}, func(c *Config) bool { return c.MailConfigured() }},
		{[]string{"MAIL_FROM", "Bulwark <no-reply@example.com>"}, func(c *Config) bool { return c.MailFrom == "Bulwark <no-reply@example.com>" }},
		{[]string{"EMAIL_VERIFICATION", "Mandatory"}, func(c *Config) bool { return c.EmailVerification == VerificationMandatory }},
		{[]string{"EMAIL_VERIFICATION", "none"}, func(c *Config) bool { return c.EmailVerification == VerificationNone }},
	}
	for _, tt := range good {
		t.Run("good/"+strings.Join(tt.env, "="), func(t *testing.T) {
			c := mustLoad(t, env(tt.env...))
			if !tt.want(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}

	bad := []struct {
		env     []string
		wantVar string
		wantMsg string // substring of the message
	}{
		{[]string{"BULWARK_ENV", "prod"}, "BULWARK_ENV", "want development or production"},
		{[]string{"BULWARK_ENV", "staging"}, "BULWARK_ENV", `got "staging"`},
		{[]string{"ADDR", "8080"}, "ADDR", "want HOST:PORT"},
		{[]string{"ADDR", "host:http"}, "ADDR", "want HOST:PORT"},
		{[]string{"ADDR", "1.2.3.4:70000"}, "ADDR", "want HOST:PORT"},
		{[]string{"ADDR", "bad_host!:80"}, "ADDR", "want HOST:PORT"},
		{[]string{"DATA_DIR", "a\x00b"}, "DATA_DIR", "path"},
		{[]string{"SECRET_KEY", "x", "SECRET_KEY_FILE", keyFile}, "SECRET_KEY", "both set"},
		{[]string{"SECRET_KEY_FILE", filepath.Join(dir, "missing")}, "SECRET_KEY_FILE", "missing"},
		{[]string{"SECRET_KEY_FALLBACKS_FILE", dir}, "SECRET_KEY_FALLBACKS_FILE", "not a regular file"},
		{[]string{"DATABASE_URL", "mysql://u:p@h/db"}, "DATABASE_URL", "want a URL starting with sqlite://, postgres:// or postgresql://"},
		{[]string{"DATABASE_URL", "bulwark.db"}, "DATABASE_URL", "sqlite://"},
		{[]string{"DATABASE_URL", "sqlite://"}, "DATABASE_URL", "sqlite://"},
		{[]string{"DATABASE_URL", "postgres://u:p@h:port/db"}, "DATABASE_URL", "postgres://"},
		{[]string{"DATABASE_URL_FILE", filepath.Join(dir, "nope")}, "DATABASE_URL_FILE", "nope"},
		{[]string{"REDIS_URL", "http://h:6379"}, "REDIS_URL", "redis://"},
		{[]string{"REDIS_URL", "unix:///tmp/redis.sock"}, "REDIS_URL", "redis://"},
		{[]string{"REDIS_URL", "redis://h:6379/notadb"}, "REDIS_URL", "redis://"},
		{[]string{"WEBHOOK_SECRET", "a", "WEBHOOK_SECRET_FILE", hookFile}, "WEBHOOK_SECRET", "both set"},
		{[]string{"TRUSTED_PROXIES", "10.0.0.0/99"}, "TRUSTED_PROXIES", `"10.0.0.0/99"`},
		{[]string{"TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"}, "TRUSTED_PROXIES", `"proxy.local"`},
		{[]string{"TRUSTED_PROXIES", "fe80::1%eth0"}, "TRUSTED_PROXIES", "want comma-separated"},
		{[]string{"TRUSTED_PROXIES", "10.0.0.0-10.0.0.255"}, "TRUSTED_PROXIES", "want comma-separated"},
		{[]string{"FORCE_HTTPS", "maybe"}, "FORCE_HTTPS", "want true or false"},
		{[]string{"FORCE_HTTPS", "on"}, "FORCE_HTTPS", `got "on"`},
		{[]string{"SESSION_COOKIE_SECURE", "2"}, "SESSION_COOKIE_SECURE", "want true or false"},
		{[]string{"SESSION_MAX_PER_USER", "0"}, "SESSION_MAX_PER_USER", "from 1 to 10000"},
		{[]string{"SESSION_MAX_PER_USER", "many"}, "SESSION_MAX_PER_USER", "from 1 to 10000"},
		{[]string{"RATELIMIT_FAIL_OPEN", "y"}, "RATELIMIT_FAIL_OPEN", "want true or false"},
		{[]string{"HSTS_MAX_AGE", "1y"}, "HSTS_MAX_AGE", "whole number of seconds"},
		{[]string{"HSTS_MAX_AGE", "-1"}, "HSTS_MAX_AGE", "whole number of seconds"},
		{[]string{"HSTS_MAX_AGE", "99999999999999999999"}, "HSTS_MAX_AGE", "whole number of seconds"},
		{[]string{"SESSION_LIFETIME", "-1h"}, "SESSION_LIFETIME", "want a positive duration"},
		{[]string{"SESSION_LIFETIME", "0"}, "SESSION_LIFETIME", "want a positive duration"},
		{[]string{"SESSION_LIFETIME", "1d"}, "SESSION_LIFETIME", "want a positive duration"},
		{[]string{"SESSION_IDLE_TIMEOUT", "soon"}, "SESSION_IDLE_TIMEOUT", "want a positive duration"},
		{[]string{"RATELIMIT_DEFAULT", "lots"}, "RATELIMIT_DEFAULT", "per"},
		{[]string{"RATELIMIT_DEFAULT", ";"}, "RATELIMIT_DEFAULT", "no limit"},
		{[]string{"RATELIMIT_LOGIN", "5 per fortnight"}, "RATELIMIT_LOGIN", "fortnight"},
		{[]string{"MAX_CONTENT_LENGTH", "abc"}, "MAX_CONTENT_LENGTH", "want a size like 16MiB, 16MB or a number of bytes"},
		{[]string{"MAX_CONTENT_LENGTH", "0"}, "MAX_CONTENT_LENGTH", "want a size"},
		{[]string{"MAX_CONTENT_LENGTH", "-5"}, "MAX_CONTENT_LENGTH", "want a size"},
		{[]string{"MAX_CONTENT_LENGTH", "16M"}, "MAX_CONTENT_LENGTH", "want a size"},
		{[]string{"MAX_CONTENT_LENGTH", "1.5MB"}, "MAX_CONTENT_LENGTH", "want a size"},
		{[]string{"MAX_CONTENT_LENGTH", "9999999999TiB"}, "MAX_CONTENT_LENGTH", "want a size"},
		{[]string{"UPLOAD_DIR", "x\x00"}, "UPLOAD_DIR", "path"},
		{[]string{"UPLOAD_EXTENSIONS", "png,../x"}, "UPLOAD_EXTENSIONS", "file extensions"},
		{[]string{"UPLOAD_EXTENSIONS", ", ,"}, "UPLOAD_EXTENSIONS", "file extensions"},
		{[]string{"UPLOAD_EXTENSIONS", "tar.gz"}, "UPLOAD_EXTENSIONS", "file extensions"},
		{[]string{"PASSWORD_MIN_LENGTH", "7"}, "PASSWORD_MIN_LENGTH", "from 8 to 64"},
		{[]string{"PASSWORD_MIN_LENGTH", "65"}, "PASSWORD_MIN_LENGTH", "from 8 to 64"},
		{[]string{"PASSWORD_MIN_LENGTH", "twelve"}, "PASSWORD_MIN_LENGTH", "from 8 to 64"},
		{[]string{"TLS_CERT_FILE", "/c.pem"}, "TLS_KEY_FILE", "together with TLS_CERT_FILE"},
		{[]string{"TLS_KEY_FILE", "/k.pem"}, "TLS_CERT_FILE", "together with TLS_KEY_FILE"},
		{[]string{"METRICS_ADDR", "9090"}, "METRICS_ADDR", "want HOST:PORT"},
		{[]string{"HTTP_ADDR", "http://x:80"}, "HTTP_ADDR", "want HOST:PORT"},
		{[]string{"LOG_LEVEL", "verbose"}, "LOG_LEVEL", "want debug, info, warn or error"},
		{[]string{"BASE_URL", "bulwark.example.com"}, "BASE_URL", "public origin"},
		{[]string{"BASE_URL", "ftp://bulwark.example.com"}, "BASE_URL", "public origin"},
		{[]string{"BASE_URL", "https://bulwark.example.com/app"}, "BASE_URL", "public origin"},
		{[]string{"BASE_URL", "https://u:p@bulwark.example.com"}, "BASE_URL", "public origin"},
		{[]string{"BASE_URL", "https://bulwark.example.com?x"}, "BASE_URL", "public origin"},
		{[]string{"BASE_URL", "https://bad_host"}, "BASE_URL", "public origin"},
		{[]string{"SMTP_URL", "mail.example.com:587"}, "SMTP_URL", "smtp://"},
		{[]string{"SMTP_URL", "smtp://:pw@mail.example.com"}, "SMTP_URL", "smtp://"},
		{[]string{"SMTP_URL", "smtp://mail.example.com:0"}, "SMTP_URL", "smtp://"},
		{[]string{"MAIL_FROM", "not an address"}, "MAIL_FROM", "mail address"},
		{[]string{"MAIL_FROM", "a@example.com\r\nBcc: x@example.com"}, "MAIL_FROM", "mail address"},
		{[]string{"EMAIL_VERIFICATION", "required"}, "EMAIL_VERIFICATION", "optional, mandatory or none"},
	}
	for _, tt := range bad {
		t.Run("bad/"+strings.Join(tt.env, "="), func(t *testing.T) {
			c, err := Load(env(tt.env...))
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if c != nil {
				t.Error("config returned with an error")
			}
			var ve *VarError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *VarError", err)
			}
			if ve.Var != tt.wantVar {
				t.Errorf("Var = %q, want %q (%v)", ve.Var, tt.wantVar, err)
			}
			if !strings.HasPrefix(err.Error(), tt.wantVar+": ") || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q: want %q in it", err, tt.wantMsg)
			}
		})
	}
}

func TestVarErrorUnwraps(t *testing.T) {
	_, err := Load(env("SECRET_KEY_FILE", filepath.Join(t.TempDir(), "missing")))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) false for %v", err)
	}
	_, err = Load(env("BULWARK_ENV", "production", "SECRET_KEY", "changeme"))
	if !errors.Is(err, secrets.ErrKeyKnown) {
		t.Errorf("errors.Is(err, secrets.ErrKeyKnown) false for %v", err)
	}
}

// TestProductionRefusesWeakKeys is the attack "forge a session cookie by
// guessing or looking up the signing key".
func TestProductionRefusesWeakKeys(t *testing.T) {
	dataDir := t.TempDir()
	devKey, err := secrets.DevKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	devPath := filepath.Join(dataDir, secrets.DevKeyFile)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(devPath, link); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, devPath)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"missing", nil, "required in production"},
		{"changeme", []string{"SECRET_KEY", "changeme"}, "well-known example value"},
		{"flask sample", []string{"SECRET_KEY", "192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf"}, "well-known example value"},
		{"short", []string{"SECRET_KEY", strongKey[:31]}, "shorter than 32 bytes"},
		{"low entropy", []string{"SECRET_KEY", strings.Repeat("ab", 32)}, "too little entropy"},
		{"all the same", []string{"SECRET_KEY", strings.Repeat("a", 64)}, "too little entropy"},
		{"dev key file", []string{"SECRET_KEY_FILE", devPath}, "development key"},
		{"dev key file by symlink", []string{"SECRET_KEY_FILE", link}, "development key"},
		{"dev key file by relative path", []string{"SECRET_KEY_FILE", rel}, "development key"},
		{"dev key copied", []string{"SECRET_KEY", string(devKey.Reveal())}, "development key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := append([]string{"BULWARK_ENV", "production", "DATA_DIR", dataDir}, tt.env...)
			_, err := Load(env(e...))
			var ve *VarError
			if !errors.As(err, &ve) || ve.Var != "SECRET_KEY" {
				t.Fatalf("want a SECRET_KEY error, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "openssl rand -hex 32") {
				t.Errorf("error %q lacks %q or the fix", err, tt.want)
			}
			if len(tt.env) == 2 && tt.env[0] == "SECRET_KEY" && strings.Contains(err.Error(), tt.env[1]) {
				t.Errorf("error leaks the key: %q", err)
			}
		})
	}

	// The same keys are accepted in development, and the development key
	// is recognised as such.
	c := mustLoad(t, env("DATA_DIR", dataDir, "SECRET_KEY_FILE", devPath))
	if !c.DevKey || !c.SecretKey.Equal(devKey) {
		t.Error("development key file not recognised in development")
	}
	c = mustLoad(t, env("DATA_DIR", dataDir, "SECRET_KEY", "changeme"))
	if c.DevKey || string(c.SecretKey.Reveal()) != "changeme" {
		t.Error("development refused a weak key (Check reports it instead)")
	}
}

func TestProductionAcceptsRandomHexKey(t *testing.T) {
	c := mustLoad(t, env("BULWARK_ENV", "production", "SECRET_KEY", strongKey, "DATA_DIR", t.TempDir()))
	if string(c.SecretKey.Reveal()) != strongKey || c.DevKey {
		t.Fatal("strong key not used")
	}
	p := filepath.Join(t.TempDir(), "k")
	os.WriteFile(p, []byte(strongKey+"\n"), 0o600)
	c = mustLoad(t, env("BULWARK_ENV", "production", "SECRET_KEY_FILE", p, "DATA_DIR", t.TempDir()))
	if string(c.SecretKey.Reveal()) != strongKey {
		t.Fatal("SECRET_KEY_FILE not used")
	}
}

func TestLoadHasNoSideEffects(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	c := mustLoad(t, env("DATA_DIR", dataDir))
	if !c.DevKey || !c.SecretKey.IsZero() {
		t.Fatal("development without SECRET_KEY must set DevKey and leave SecretKey zero")
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("Load created DATA_DIR")
	}
}

func TestUploadStorage(t *testing.T) {
	c := mustLoad(t, env("UPLOAD_STORAGE", "s3://files?endpoint=http://127.0.0.1:9000&region=us-east-1",
		"S3_ACCESS_KEY_ID", "AKIDEXAMPLE", "S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG"))
	if c.UploadStorage != "s3://files?endpoint=http://127.0.0.1:9000&region=us-east-1" || c.S3SecretAccessKey.IsZero() {
		t.Fatalf("s3 storage: %q", c.UploadStorage)
	}
	for _, bad := range [][]string{
		{"UPLOAD_STORAGE", "ftp://x"},
		{"UPLOAD_STORAGE", "s3://files"}, // no keys
		{"UPLOAD_STORAGE", "s3://key:secret@files"},
		{"UPLOAD_QUOTA", "lots"},
		{"UPLOAD_MAX_FILES", "0"},
	} {
		_, err := Load(env(bad...))
		if err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: err %v", bad, err)
		}
	}
}
