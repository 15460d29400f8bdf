package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// certReloader serves the current certificate to handshakes and replaces it
// when the files change. Handshakes only load an atomic pointer; the files
// are read by reload, on SIGHUP or when watch sees new modification times or
// sizes.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	cur atomic.Pointer[tls.Certificate]

	mu   sync.Mutex // serializes reloads
	seen filesStamp // the files as they were at the last attempt
}

// filesStamp identifies a version of the certificate and key files.
// os.Stat follows symlinks, so certbot's live/ links and Kubernetes'
// ..data swaps show up as changes of the files they point to.
type filesStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

func stampFiles(certFile, keyFile string) (filesStamp, error) {
	c, err := os.Stat(certFile)
	if err != nil {
		return filesStamp{}, err
	}
	k, err := os.Stat(keyFile)
	if err != nil {
		return filesStamp{}, err
	}
	return filesStamp{certMod: c.ModTime(), keyMod: k.ModTime(), certSize: c.Size(), keySize: k.Size()}, nil
}

// newCertReloader loads the pair once; it fails if that load fails, so that
// a server never starts without a certificate.
func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: logger}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// reload reads the files now. On error the current certificate stays.
func (r *certReloader) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loadLocked()
}

// reloadIfChanged reloads when the files' stamp differs from the last
// attempt's, so a bad pair is reported once, not at every check.
func (r *certReloader) reloadIfChanged() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := stampFiles(r.certFile, r.keyFile)
	if err == nil && st == r.seen {
		return nil
	}
	return r.loadLocked()
}

func (r *certReloader) loadLocked() error {
	// Stamp before reading: a file that changes while it is read gets a new
	// stamp and is read again at the next check.
	st, statErr := stampFiles(r.certFile, r.keyFile)
	r.seen = st
	err := statErr
	var cert tls.Certificate
	if err == nil {
		cert, err = tls.LoadX509KeyPair(r.certFile, r.keyFile)
	}
	if err == nil && cert.Leaf == nil {
		cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0])
	}
	if err != nil {
		err = fmt.Errorf("server: TLS certificate %s with key %s: %w", r.certFile, r.keyFile, err)
		if r.cur.Load() != nil {
			r.log.Error("server: TLS certificate reload failed; still serving the previous certificate", slog.Any("error", err))
		}
		return err
	}
	r.cur.Store(&cert)
	leaf := cert.Leaf
	attrs := []any{
		slog.String("file", r.certFile),
		slog.String("serial", leaf.SerialNumber.Text(16)),
		slog.Any("names", leaf.DNSNames),
		slog.Time("not_after", leaf.NotAfter),
	}
	if time.Now().After(leaf.NotAfter) {
		r.log.Warn("server: TLS certificate loaded but it has expired; clients will refuse it", attrs...)
	} else {
		r.log.Info("server: TLS certificate loaded", attrs...)
	}
	return nil
}

// watch checks the files every interval until stop is closed.
func (r *certReloader) watch(stop <-chan struct{}, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_ = r.reloadIfChanged() // logged by loadLocked
		}
	}
}
