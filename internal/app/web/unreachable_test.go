package web

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
)

type pgError struct{ code string }

func (e *pgError) Error() string    { return "pg: " + e.code }
func (e *pgError) SQLState() string { return e.code }

// A backend that cannot be reached makes a 503 with Retry-After, so that
// clients retry; a bug stays a 500. Remove the unreachable check from
// AsError to see the first cases fail.
func TestAsErrorBackendDown(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"dial refused, wrapped", fmt.Errorf("store: user by email: %w", dial), http.StatusServiceUnavailable},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), http.StatusServiceUnavailable},
		{"cut mid-reply", fmt.Errorf("store: %w", io.ErrUnexpectedEOF), http.StatusServiceUnavailable},
		{"postgres starting", fmt.Errorf("connect: %w", &pgError{"57P03"}), http.StatusServiceUnavailable},
		{"postgres connection lost", &pgError{"08006"}, http.StatusServiceUnavailable},
		{"postgres unique violation", &pgError{"23505"}, http.StatusInternalServerError},
		{"a bug", errors.New("nil map"), http.StatusInternalServerError},
	} {
		e := AsError(c.err)
		if e.Status != c.want {
			t.Errorf("%s: %d, want %d", c.name, e.Status, c.want)
		}
		if c.want == http.StatusServiceUnavailable && e.RetryAfter == 0 {
			t.Errorf("%s: 503 without Retry-After", c.name)
		}
	}
}
