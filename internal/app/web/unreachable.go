package web

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// unreachable reports whether err says that a backend — the database, the
// object store, Redis — could not be reached, dropped the connection, or is
// starting or stopping. Such an error is a fault of the moment that the
// client can retry, so AsError answers it with 503 and Retry-After, not
// with the 500 that marks a bug. The fault tests (internal/app/fault_test.go)
// stop each backend under load and hold every request to that.
//
// The checks are by behaviour, not by driver type, so this package imports
// no driver: a network error from a dial, read or write; a connection cut
// mid-reply; and PostgreSQL's SQLSTATEs for a lost connection (class 08),
// a server shutting down or starting (57P01–57P03) and too many
// connections (53300), read through the SQLState method pgx's errors have.
func unreachable(err error) bool {
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if pe, ok := errors.AsType[sqlStateError](err); ok {
		code := pe.SQLState()
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
	}
	return false
}

// sqlStateError is an error with a SQLSTATE code, as pgconn.PgError is.
type sqlStateError interface {
	error
	SQLState() string
}
