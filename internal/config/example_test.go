package config_test

import (
	"fmt"
	"log"

	"github.com/bulwarkhq/bulwark/internal/config"
)

func Example() {
	env := map[string]string{ // os.Getenv in the real program
		"BULWARK_ENV":           "production",
		"SECRET_KEY":            "b61d296e25a3ccc402b75c1a22e80c45bd84577e28e83404ad166886396cbe03",
		"DATA_DIR":              "/nonexistent/bulwark",
		"TRUSTED_PROXIES":       "10.0.0.0/8",
		"ALLOWED_HOSTS":         "bulwark.example.com",
		"BASE_URL":              "https://bulwark.example.com",
		"SMTP_URL":              "smtp://bulwark:mail-password@mail.example.com:587",
		"SESSION_COOKIE_SECURE": "false",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		log.Fatal(err) // e.g. "MAX_CONTENT_LENGTH: want a size like 16MiB, 16MB or a number of bytes, got "abc""
	}
	fmt.Println(cfg.ForceHTTPS, cfg.SecretKey)
	for _, f := range config.Check(cfg, false) {
		fmt.Println(f)
	}
	// Output:
	// true [redacted]
	// ERROR   bulwark.E005 SESSION_COOKIE_SECURE is off: browsers send the session cookie over plain HTTP. Fix: set SESSION_COOKIE_SECURE=true (the production default)
	// WARNING bulwark.W009 DATABASE_URL is SQLite: fine for a single instance, but instances cannot share it. Fix: use postgres:// (and REDIS_URL) to run more than one instance
}

func ExampleLoad_error() {
	_, err := config.Load(func(k string) string {
		return map[string]string{"MAX_CONTENT_LENGTH": "abc"}[k]
	})
	fmt.Println(err)
	// Output: MAX_CONTENT_LENGTH: want a size like 16MiB, 16MB or a number of bytes, got "abc"
}
