package server

import (
	"context"
	"log"
	"log/slog"
	"strings"
)

// newErrorLog routes net/http's error log to logger. The Internet sends a
// steady stream of failed TLS handshakes (scanners, old clients, probes) and
// aborted HTTP/2 prefaces; they go to debug. Handler panics go to error;
// anything else, such as a superfluous WriteHeader, is a bug worth a warning.
func newErrorLog(logger *slog.Logger) *log.Logger {
	return log.New(errorLogWriter{logger}, "", 0)
}

type errorLogWriter struct{ log *slog.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	switch {
	case strings.HasPrefix(msg, "http: TLS handshake error"),
		strings.HasPrefix(msg, "http2: server: error reading preface"),
		strings.HasPrefix(msg, "http2: received GOAWAY"):
		level = slog.LevelDebug
	case strings.HasPrefix(msg, "http: panic serving"):
		level = slog.LevelError
	}
	w.log.Log(context.Background(), level, msg, slog.String("component", "net/http"))
	return len(p), nil
}
