//go:build unix

package server

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/testenv"
)

// Run reloads the certificate on SIGHUP.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	// Our own subscription keeps a SIGHUP that arrives before Run's from
	// killing the test binary.
	mine := make(chan os.Signal, 1)
	signal.Notify(mine, syscall.SIGHUP)
	defer signal.Stop(mine)

	pki := newPKI(t)
	files := newCertFiles(t)
	files.writeLeaf(t, pki, 100)
	rec := &recordLogger{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	addr := testenv.FreeAddr(t) // Run does not report the address it bound
	go func() {
		done <- Run(ctx, Options{Addr: addr, Handler: helloHandler, Logger: slogFrom(rec),
			TLSCertFile: files.cert, TLSKeyFile: files.key, CertCheckInterval: -1})
	}()
	// "listening" is logged by Serve, after Run subscribed to SIGHUP.
	deadline := time.Now().Add(10 * time.Second)
	for !rec.has("server: listening") {
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	files.writeLeaf(t, pki, 700)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for servedSerial(t, addr, pki) != 700 {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the certificate")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
