package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/secrets"
)

// ids returns "SEVERITY ID" for each finding.
func ids(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Severity.String()+" "+f.ID)
	}
	return out
}

func hasFinding(fs []Finding, sev Severity, id string) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == sev && f.ID == id })
}

// prodEnv is a clean production configuration; tests change one thing.
func prodEnv(t *testing.T, kv ...string) func(string) string {
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	base := []string{
		"BULWARK_ENV", "production", "SECRET_KEY", strongKey, "DATA_DIR", dataDir,
		"DATABASE_URL", "postgres://bulwark:pw@db/bulwark", "REDIS_URL", "rediss://:pw@cache:6380/0",
		"TRUSTED_PROXIES", "10.0.0.0/8", "ALLOWED_HOSTS", "bulwark.example.com",
		"BASE_URL", "https://bulwark.example.com", "SMTP_URL", "smtp://bulwark:pw@mail.example.com:587",
	}
	return env(append(base, kv...)...)
}

func TestCheckCleanProduction(t *testing.T) {
	c := mustLoad(t, prodEnv(t))
	if fs := Check(c, false); len(fs) != 0 {
		t.Fatalf("clean production config has findings: %v", fs)
	}
}

func TestCheckFindings(t *testing.T) {
	weakFallback := "SECRET_KEY_FALLBACKS"
	tests := []struct {
		name string
		kv   []string
		sev  Severity
		id   string
	}{
		{"force https off", []string{"FORCE_HTTPS", "false"}, Error, "bulwark.E004"},
		{"cookie not secure", []string{"SESSION_COOKIE_SECURE", "false"}, Error, "bulwark.E005"},
		{"weak fallback", []string{weakFallback, strongKey + ",changeme"}, Error, "bulwark.E003"},
		{"fallback equals key", []string{weakFallback, strongKey}, Info, "bulwark.I030"},
		{"trust everyone v4", []string{"TRUSTED_PROXIES", "10.0.0.0/8,0.0.0.0/0"}, Error, "bulwark.E006"},
		{"trust everyone v6", []string{"TRUSTED_PROXIES", "::/0"}, Error, "bulwark.E006"},
		{"trust half the internet", []string{"TRUSTED_PROXIES", "0.0.0.0/1"}, Warning, "bulwark.W007"},
		{"trust a /16 of v6", []string{"TRUSTED_PROXIES", "2001::/16"}, Warning, "bulwark.W007"},
		{"open redis", []string{"REDIS_URL", "redis://cache.internal:6379/0"}, Error, "bulwark.E008"},
		{"open redis by IP", []string{"REDIS_URL", "redis://10.0.0.5:6379"}, Error, "bulwark.E008"},
		{"sqlite in production", []string{"DATABASE_URL", "sqlite:///var/lib/bulwark/db"}, Warning, "bulwark.W009"},
		{"no redis with postgres", []string{"REDIS_URL", ""}, Info, "bulwark.I026"},
		{"short hsts", []string{"HSTS_MAX_AGE", "86400"}, Warning, "bulwark.W012"},
		{"https redirect loop", []string{"TRUSTED_PROXIES", ""}, Warning, "bulwark.W020"},
		{"fail open", []string{"RATELIMIT_FAIL_OPEN", "true"}, Warning, "bulwark.W021"},
		{"debug logs", []string{"LOG_LEVEL", "debug"}, Warning, "bulwark.W022"},
		{"metrics on ADDR", []string{"ADDR", ":8080", "METRICS_ADDR", "127.0.0.1:8080"}, Error, "bulwark.E016"},
		{"metrics equal to ADDR", []string{"METRICS_ADDR", "127.0.0.1:8080"}, Error, "bulwark.E016"},
		{"http addr on ADDR", []string{"ADDR", "0.0.0.0:443", "HTTP_ADDR", ":443"}, Error, "bulwark.E016"},
		{"public metrics", []string{"METRICS_ADDR", ":9090"}, Warning, "bulwark.W023"},
		{"http addr without tls", []string{"HTTP_ADDR", ":80"}, Warning, "bulwark.W024"},
		{"short passwords", []string{"PASSWORD_MIN_LENGTH", "8"}, Warning, "bulwark.W017"},
		{"weak webhook secret", []string{"WEBHOOK_SECRET", "hook"}, Warning, "bulwark.W018"},
		{"html uploads", []string{"UPLOAD_EXTENSIONS", "png,HTML,svg"}, Warning, "bulwark.W019"},
		{"idle longer than lifetime", []string{"SESSION_IDLE_TIMEOUT", "48h"}, Info, "bulwark.I025"},
		// Reset and verification links sent over http can be read and used
		// on the way; the default BASE_URL is http://localhost.
		{"http base url", []string{"BASE_URL", "http://bulwark.example.com"}, Error, "bulwark.E034"},
		{"default base url", []string{"BASE_URL", ""}, Error, "bulwark.E034"},
		{"no smtp: recovery disabled", []string{"SMTP_URL", ""}, Warning, "bulwark.W035"},
		{"optional verification", []string{"EMAIL_VERIFICATION", "optional"}, Info, "bulwark.I036"},
		{"no verification", []string{"EMAIL_VERIFICATION", "none"}, Info, "bulwark.I036"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, prodEnv(t, tt.kv...))
			fs := Check(c, false)
			if !hasFinding(fs, tt.sev, tt.id) {
				t.Fatalf("want %s %s, got %v", tt.sev, tt.id, ids(fs))
			}
			for _, f := range fs {
				if strings.Contains(f.String(), "pw@") || strings.Contains(f.String(), strongKey) {
					t.Errorf("finding leaks a secret: %s", f)
				}
			}
		})
	}
}

func TestCheckAcceptsSafeVariants(t *testing.T) {
	for _, kv := range [][]string{
		{"REDIS_URL", "redis://localhost:6379/0"},
		{"REDIS_URL", "redis://127.0.0.1:6379/0"},
		{"REDIS_URL", "redis://[::1]:6379/0"},
		{"REDIS_URL", "redis://:secretpw@cache:6379/0"},
		{"REDIS_URL", "redis://user:secretpw@cache:6379/0"},
		{"TRUSTED_PROXIES", "172.16.0.0/12,fd00::/8,203.0.113.7"},
		{"TRUSTED_PROXIES", "104.16.0.0/13,2606:4700::/32"},
		{"METRICS_ADDR", "127.0.0.1:9090"},
		{"ADDR", "127.0.0.1:8080", "METRICS_ADDR", "127.0.0.2:8080"},
	} {
		c := mustLoad(t, prodEnv(t, kv...))
		// METRICS_ADDR is served now: no "accepted, not used yet" (I033).
		if fs := Check(c, false); len(fs) != 0 {
			t.Errorf("%v: unexpected findings %v", kv, ids(fs))
		}
	}
}

// ALLOWED_HOSTS is required in production and parsed in Django's form.
func TestAllowedHosts(t *testing.T) {
	c := mustLoad(t, env("BULWARK_ENV", "production", "SECRET_KEY", strongKey))
	if len(c.AllowedHosts) != 0 || !slices.Contains(ids(Check(c, false)), "ERROR bulwark.E031") {
		t.Errorf("production without ALLOWED_HOSTS: %v %v", c.AllowedHosts, ids(Check(c, false)))
	}
	c = mustLoad(t, env("ALLOWED_HOSTS", " Example.com, .example.org ,[::1]"))
	if want := []string{"example.com", ".example.org", "[::1]"}; !slices.Equal(c.AllowedHosts, want) {
		t.Errorf("AllowedHosts = %q, want %q", c.AllowedHosts, want)
	}
	for _, bad := range []string{"example.com:443", "exa mple.com", "http://example.com", "[nothost]"} {
		if _, err := Load(env("ALLOWED_HOSTS", bad)); err == nil || !strings.Contains(err.Error(), "ALLOWED_HOSTS") {
			t.Errorf("ALLOWED_HOSTS=%q: err %v", bad, err)
		}
	}
}

// TestCheckSecretKey covers the key findings in production, under
// --deploy, and in development (where they are only Info).
func TestCheckSecretKey(t *testing.T) {
	dataDir := t.TempDir()
	if _, err := secrets.DevKey(dataDir); err != nil {
		t.Fatal(err)
	}
	devPath := filepath.Join(dataDir, secrets.DevKeyFile)
	tests := []struct {
		name   string
		env    []string
		deploy bool
		sev    Severity
		id     string
	}{
		{"dev: no key", nil, false, Info, "bulwark.E002"},
		{"deploy: no key", nil, true, Error, "bulwark.E002"},
		{"dev: dev key file", []string{"SECRET_KEY_FILE", devPath}, false, Info, "bulwark.E002"},
		{"deploy: dev key file", []string{"SECRET_KEY_FILE", devPath}, true, Error, "bulwark.E002"},
		{"dev: weak", []string{"SECRET_KEY", "changeme"}, false, Info, "bulwark.E001"},
		{"deploy: weak", []string{"SECRET_KEY", "changeme"}, true, Error, "bulwark.E001"},
		{"deploy: short", []string{"SECRET_KEY", strongKey[:20]}, true, Error, "bulwark.E001"},
		{"deploy: weak fallback", []string{"SECRET_KEY", strongKey, "SECRET_KEY_FALLBACKS", "dev"}, true, Error, "bulwark.E003"},
		{"dev: weak fallback", []string{"SECRET_KEY", strongKey, "SECRET_KEY_FALLBACKS", "dev"}, false, Info, "bulwark.E003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, env(append([]string{"DATA_DIR", dataDir}, tt.env...)...))
			fs := Check(c, tt.deploy)
			if !hasFinding(fs, tt.sev, tt.id) {
				t.Fatalf("want %s %s, got %v", tt.sev, tt.id, ids(fs))
			}
			for _, f := range fs {
				if strings.Contains(f.String(), "changeme") {
					t.Errorf("finding echoes the key: %s", f)
				}
			}
		})
	}
	// Check of a hand-built Config without any key.
	if fs := Check(&Config{DataDir: privateDir(t), SessionLifetime: time.Hour, PasswordMinLength: 15}, false); !hasFinding(fs, Error, "bulwark.E002") {
		t.Errorf("missing key not reported: %v", ids(fs))
	}
}

// privateDir returns a new directory of mode 0700 (t.TempDir gives 0755).
func privateDir(t *testing.T) string {
	d := t.TempDir()
	if err := os.Chmod(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCheckDeployChecksAsProduction(t *testing.T) {
	c := mustLoad(t, env("DATA_DIR", privateDir(t), "SECRET_KEY", strongKey))
	if fs := Check(c, false); slices.ContainsFunc(fs, func(f Finding) bool { return f.Severity == Error }) {
		t.Errorf("development defaults give errors without --deploy: %v", ids(fs))
	}
	fs := Check(c, true)
	for _, id := range []string{"bulwark.E004", "bulwark.E005"} {
		if !hasFinding(fs, Error, id) {
			t.Errorf("--deploy on development defaults: want %s, got %v", id, ids(fs))
		}
	}
	if fs[0].Severity != Error || fs[len(fs)-1].Severity > fs[0].Severity {
		t.Errorf("findings not sorted by severity: %v", ids(fs))
	}
}

// TestCheckFileModes is the attack "another local user reads the database
// or the signing key".
func TestCheckFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not meaningful on Windows")
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	if _, err := secrets.DevKey(dataDir); err != nil {
		t.Fatal(err)
	}
	c := mustLoad(t, env("DATA_DIR", dataDir))
	if fs := Check(c, false); hasFinding(fs, Error, "bulwark.E010") || hasFinding(fs, Error, "bulwark.E011") {
		t.Fatalf("0700/0600 reported: %v", fs)
	}
	os.Chmod(dataDir, 0o755)
	os.Chmod(filepath.Join(dataDir, secrets.DevKeyFile), 0o644)
	fs := Check(c, false)
	if !hasFinding(fs, Error, "bulwark.E010") || !hasFinding(fs, Error, "bulwark.E011") {
		t.Fatalf("loose modes not reported: %v", ids(fs))
	}
	for _, f := range fs {
		if f.ID == "bulwark.E011" && !strings.Contains(f.String(), "chmod 600 "+filepath.Join(dataDir, secrets.DevKeyFile)) {
			t.Errorf("no fix given: %s", f)
		}
	}
	// A DATA_DIR that does not exist yet is not an error.
	c = mustLoad(t, env("DATA_DIR", filepath.Join(t.TempDir(), "absent")))
	if fs := Check(c, false); hasFinding(fs, Error, "bulwark.E010") {
		t.Error("absent DATA_DIR reported")
	}
}

func writeCert(t *testing.T, dir string, notAfter time.Time) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    notAfter.Add(-365 * 24 * time.Hour),
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certPath, keyPath
}

func TestCheckTLS(t *testing.T) {
	tlsEnv := func(cert, key string, kv ...string) func(string) string {
		return prodEnv(t, append([]string{"TLS_CERT_FILE", cert, "TLS_KEY_FILE", key, "ADDR", ":443", "HTTP_ADDR", ":80", "TRUSTED_PROXIES", ""}, kv...)...)
	}
	good, goodKey := writeCert(t, t.TempDir(), time.Now().Add(365*24*time.Hour))
	if fs := Check(mustLoad(t, tlsEnv(good, goodKey)), false); len(fs) != 0 {
		t.Errorf("good TLS set-up has findings: %v", fs)
	}

	dir := t.TempDir()
	tests := []struct {
		name      string
		cert, key string
		sev       Severity
		id        string
	}{
		{"missing cert", filepath.Join(dir, "nope.pem"), goodKey, Error, "bulwark.E013"},
		{"key is a directory", good, dir, Error, "bulwark.E013"},
		{"mismatched pair", good, func() string { _, k := writeCert(t, t.TempDir(), time.Now().Add(time.Hour*9000)); return k }(), Error, "bulwark.E013"},
		{"not PEM", good, good, Error, "bulwark.E013"},
		{"expired", func() string { c, _ := writeCert(t, filepath.Join(t.TempDir()), time.Now().Add(-time.Hour)); return c }(), "", Error, "bulwark.E014"},
		{"expires soon", func() string {
			c, _ := writeCert(t, filepath.Join(t.TempDir()), time.Now().Add(7*24*time.Hour))
			return c
		}(), "", Warning, "bulwark.W015"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := tt.key
			if key == "" {
				key = filepath.Join(filepath.Dir(tt.cert), "key.pem")
			}
			fs := Check(mustLoad(t, tlsEnv(tt.cert, key)), false)
			if !hasFinding(fs, tt.sev, tt.id) {
				t.Fatalf("want %s %s, got %v", tt.sev, tt.id, fs)
			}
			for _, f := range fs {
				if strings.Contains(f.String(), "PRIVATE KEY") {
					t.Errorf("finding shows key material: %s", f)
				}
			}
		})
	}
	if runtime.GOOS == "windows" {
		return
	}
	os.Chmod(goodKey, 0o644)
	if fs := Check(mustLoad(t, tlsEnv(good, goodKey)), false); !hasFinding(fs, Warning, "bulwark.W027") {
		t.Errorf("world-readable TLS key not reported: %v", ids(fs))
	}
}

func TestFindingString(t *testing.T) {
	f := Finding{Severity: Error, ID: "bulwark.E001", Message: "SECRET_KEY is shorter than 32 bytes", Fix: "set SECRET_KEY to 64 random hex characters (openssl rand -hex 32)"}
	want := "ERROR   bulwark.E001 SECRET_KEY is shorter than 32 bytes. Fix: set SECRET_KEY to 64 random hex characters (openssl rand -hex 32)"
	if got := f.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	f = Finding{Severity: Warning, ID: "bulwark.W1", Message: "two\nlines."}
	if got := f.String(); got != "WARNING bulwark.W1 two lines." {
		t.Errorf("got %q", got)
	}
	if Info.String() != "INFO" || Severity(9).String() != "Severity(9)" {
		t.Error("Severity.String")
	}
	if !(Info < Warning && Warning < Error) {
		t.Error("severities out of order")
	}
}
