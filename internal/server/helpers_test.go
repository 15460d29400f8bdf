package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPKI is a throwaway CA that signs leaf certificates for 127.0.0.1.
type testPKI struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	pool  *x509.CertPool
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "bulwark test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &testPKI{ca: ca, caKey: key, pool: pool}
}

// leaf returns PEM blocks of a new certificate for 127.0.0.1 and localhost
// with the given serial number, and of its key.
func (p *testPKI) leaf(t testing.TB, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

// certFiles are the paths a test server loads its pair from.
type certFiles struct{ cert, key string }

func newCertFiles(t testing.TB) certFiles {
	dir := t.TempDir()
	return certFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
}

// write replaces the files' contents and moves their modification time
// forward by a second, so a change is seen even on coarse clocks.
func (f certFiles) write(t testing.TB, certPEM, keyPEM []byte) {
	t.Helper()
	mtime := time.Now().Add(time.Second)
	if fi, err := os.Stat(f.cert); err == nil && !fi.ModTime().Before(mtime) {
		mtime = fi.ModTime().Add(time.Second)
	}
	for _, w := range []struct {
		path string
		data []byte
	}{{f.cert, certPEM}, {f.key, keyPEM}} {
		if err := os.WriteFile(w.path, w.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(w.path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

var helloHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello")
})

// quietLogger drops everything; tests that look at logs use recordLogger.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// recordLogger keeps every message it is given.
type recordLogger struct {
	mu   sync.Mutex
	msgs []string
}

func (l *recordLogger) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLogger) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (l *recordLogger) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *recordLogger) WithGroup(string) slog.Handler      { return l }

func (l *recordLogger) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// startServer binds o (on a free loopback port unless set) and serves until
// the test ends, then checks that Serve returned nil.
func startServer(t *testing.T, o Options) *Server {
	t.Helper()
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Handler == nil {
		o.Handler = helloHandler
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	s, err := Listen(t.Context(), o)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return s
}

// startTLS serves helloHandler (unless o says otherwise) over TLS with a
// new certificate of serial 100.
func startTLS(t *testing.T, o Options) (*Server, *testPKI, certFiles) {
	t.Helper()
	pki := newPKI(t)
	files := newCertFiles(t)
	files.writeLeaf(t, pki, 100)
	o.TLSCertFile, o.TLSKeyFile = files.cert, files.key
	if o.CertCheckInterval == 0 {
		o.CertCheckInterval = -1 // tests that want the watcher set it
	}
	return startServer(t, o), pki, files
}

// httpsClient trusts pki and offers HTTP/2.
func httpsClient(t *testing.T, pki *testPKI) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pki.pool},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// noFollowClient speaks plain HTTP and returns redirects instead of
// following them.
func noFollowClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// servedSerial is the serial number of the certificate a handshake with
// addr presents.
func servedSerial(t *testing.T, addr string, pki *testPKI) int64 {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: pki.pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// rawExchange sends raw bytes to addr and reads the response.
func rawExchange(t *testing.T, addr, raw string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", raw, err)
	}
	resp.Body.Close()
	return resp
}

func slogFrom(h slog.Handler) *slog.Logger { return slog.New(h) }

// writeLeaf writes a new certificate of the given serial and its key.
func (f certFiles) writeLeaf(t testing.TB, pki *testPKI, serial int64) {
	t.Helper()
	c, k := pki.leaf(t, serial)
	f.write(t, c, k)
}
