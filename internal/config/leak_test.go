package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Marker values: if any shows up in output, a secret leaked.
const (
	leakKey      = "1f0e8c4b7a39d26e5b8104c7f3a9e2d6b5c80f14a73e9d2c6b58a0f41e7d3c92"
	leakFallback = "LEAKFALLBACK0a9c7e51d3b2f486e0c9a7b5d3f1e8c6a4b2d0f9e7c5a3b1d8f6e4c2"
	leakDBPass   = "LEAKDBPASS7x"
	leakRedis    = "LEAKREDISPW8y"
	leakHook     = "LEAKHOOK9z0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d"
	leakSMTP     = "LEAKSMTPPW3q"
)

var leakMarkers = []string{leakKey, leakKey[:16], leakFallback, leakDBPass, leakRedis, leakHook, leakSMTP, "LEAK"}

func assertNoLeak(t *testing.T, what, out string) {
	t.Helper()
	for _, m := range leakMarkers {
		if strings.Contains(out, m) {
			t.Errorf("%s leaks %q:\n%s", what, m, out)
		}
	}
}

// TestConfigNeverLeaksSecrets is the attack "the configuration is logged at
// start-up (or dumped in a debug page) and the key walks out with the logs".
func TestConfigNeverLeaksSecrets(t *testing.T) {
	c := mustLoad(t, env(
		"BULWARK_ENV", "production",
		"SECRET_KEY", leakKey,
		"SECRET_KEY_FALLBACKS", leakFallback+",changeme",
		"DATABASE_URL", "postgres://bulwark:"+leakDBPass+"@db/bulwark",
		"REDIS_URL", "redis://:"+leakRedis+"@cache:6379/0",
		"WEBHOOK_SECRET", leakHook,
		"SMTP_URL", "smtp://bulwark:"+leakSMTP+"@mail.example.com:587",
		"DATA_DIR", t.TempDir(),
	))
	if string(c.SecretKey.Reveal()) != leakKey || !strings.Contains(string(c.DatabaseURL.Reveal()), leakDBPass) {
		t.Fatal("secrets not loaded")
	}

	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		assertNoLeak(t, verb+" of *Config", fmt.Sprintf(verb, c))
		assertNoLeak(t, verb+" of Config", fmt.Sprintf(verb, *c))
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	assertNoLeak(t, "json.Marshal", string(j))
	if !strings.Contains(string(j), `"SecretKey":"[redacted]"`) {
		t.Errorf("json does not show the redaction: %s", j)
	}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(h(&buf))
		log.Info("config", "cfg", c, "value", *c, "key", c.SecretKey, "db", c.DatabaseURL)
		log.Info("group", slog.Group("g", "cfg", c))
		assertNoLeak(t, "slog "+name, buf.String())
		if !strings.Contains(buf.String(), "[redacted]") {
			t.Errorf("slog %s output lacks [redacted]: %s", name, buf.String())
		}
	}
	for _, f := range Check(c, true) {
		assertNoLeak(t, "finding", f.String())
	}
}

// TestErrorsNeverLeakSecrets checks every error path that sees a secret.
func TestErrorsNeverLeakSecrets(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte(leakKey), 0o600)
	cases := [][]string{
		{"BULWARK_ENV", "production", "SECRET_KEY", "LEAK" + "short"},
		{"BULWARK_ENV", "production", "SECRET_KEY", strings.Repeat("LEAK", 16)},
		{"SECRET_KEY", leakKey, "SECRET_KEY_FILE", keyFile},
		{"SECRET_KEY_FALLBACKS", leakFallback, "SECRET_KEY_FALLBACKS_FILE", keyFile},
		{"DATABASE_URL", "mysql://u:" + leakDBPass + "@h/db"},
		{"DATABASE_URL", "postgres://u:" + leakDBPass + "@h:port/db"},
		{"DATABASE_URL", leakDBPass},
		{"DATABASE_URL", "postgres://u:" + leakDBPass + "@h/db", "DATABASE_URL_FILE", keyFile},
		{"REDIS_URL", "http://:" + leakRedis + "@h"},
		{"REDIS_URL", "redis://:" + leakRedis + "@h:6379/notadb"},
		{"REDIS_URL", "redis://:" + leakRedis + "@h:badport"},
		{"WEBHOOK_SECRET", leakHook, "WEBHOOK_SECRET_FILE", keyFile},
		{"SMTP_URL", "http://u:" + leakSMTP + "@mail.example.com"},
		{"SMTP_URL", "smtp://u:" + leakSMTP + "@mail.example.com:badport"},
		{"SMTP_URL", "smtp://u:" + leakSMTP + "@mail.example.com/path?x=1"},
	}
	for _, kv := range cases {
		_, err := Load(env(append(kv, "DATA_DIR", dir)...))
		if err == nil {
			t.Errorf("%v accepted", kv[0])
			continue
		}
		assertNoLeak(t, "error for "+kv[0], err.Error())
		assertNoLeak(t, "error for "+kv[0], fmt.Sprintf("%+v %#v", err, err))
	}
}
