package testenv

import (
	"testing"
)

// Chromium returns the path of Debian's chromium (or another Chrome on PATH)
// for browser tests, skipping or failing as the package doc says when none is
// installed.
func Chromium(t testing.TB) string {
	t.Helper()
	p := lookPath("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
	if p == "" {
		missing(t, "chromium", "chromium")
	}
	return p
}

// ChromiumFlags are the command-line switches a test browser needs here: no
// sandbox when running as root, and nothing that reaches the network at start.
// The caller adds a fresh --user-data-dir.
func ChromiumFlags() []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--disable-background-networking", "--disable-component-update",
		"--disable-sync", "--no-first-run", "--disable-default-apps",
		"--disable-extensions", "--metrics-recording-only", "--mute-audio",
	}
}
