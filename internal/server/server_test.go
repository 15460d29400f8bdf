package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestOptionsRejected(t *testing.T) {
	for name, o := range map[string]Options{
		"no addr":           {Handler: helloHandler},
		"no handler":        {Addr: "127.0.0.1:0"},
		"cert without key":  {Addr: "127.0.0.1:0", Handler: helloHandler, TLSCertFile: "c.pem"},
		"key without cert":  {Addr: "127.0.0.1:0", Handler: helloHandler, TLSKeyFile: "k.pem"},
		"redirect, no TLS":  {Addr: "127.0.0.1:0", Handler: helloHandler, HTTPAddr: "127.0.0.1:0"},
		"negative timeout":  {Addr: "127.0.0.1:0", Handler: helloHandler, ReadTimeout: -1},
		"negative max head": {Addr: "127.0.0.1:0", Handler: helloHandler, MaxHeaderBytes: -1},
	} {
		if _, err := Listen(t.Context(), o); err == nil {
			t.Errorf("%s: Listen accepted %+v", name, o)
		}
	}
}

func TestDefaultsAreBounded(t *testing.T) {
	o, err := Options{Addr: "x", Handler: helloHandler}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.ReadHeaderTimeout != 5*time.Second || o.ReadTimeout != 30*time.Second ||
		o.WriteTimeout != 60*time.Second || o.IdleTimeout != 120*time.Second ||
		o.MaxHeaderBytes != 64<<10 || o.ShutdownTimeout != 20*time.Second {
		t.Errorf("defaults = %+v", o)
	}
	if o.WriteTimeout <= o.ReadTimeout {
		t.Error("WriteTimeout must exceed ReadTimeout, or a slow full-length request can never be answered")
	}
}

func TestPlainHTTP(t *testing.T) {
	s := startServer(t, Options{})
	resp, err := http.Get("http://" + s.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello" || resp.TLS != nil {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}

func TestHTTPSNegotiatesHTTP2(t *testing.T) {
	s, pki, _ := startTLS(t, Options{})
	resp, err := httpsClient(t, pki).Get("https://" + s.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
	if resp.ProtoMajor != 2 || resp.TLS.NegotiatedProtocol != "h2" {
		t.Errorf("protocol %s, ALPN %q; want HTTP/2 via h2", resp.Proto, resp.TLS.NegotiatedProtocol)
	}
	if resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS version %x", resp.TLS.Version)
	}
}

func TestHTTPSServesHTTP1ToHTTP1Clients(t *testing.T) {
	s, pki, _ := startTLS(t, Options{})
	conn, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{RootCAs: pki.pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN %q", p)
	}
}

// A client limited to TLS 1.1 must fail the handshake. GODEBUG turns Go's
// own TLS 1.2 floor off, so the test fails if the server's config loses its
// MinVersion (or its AEAD-only suites, which TLS 1.1 cannot use).
func TestTLS11Refused(t *testing.T) {
	t.Setenv("GODEBUG", "tls10server=1")
	s, pki, _ := startTLS(t, Options{})
	_, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{
		RootCAs:    pki.pool,
		MinVersion: tls.VersionTLS10,
		MaxVersion: tls.VersionTLS11,
	})
	if err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	if !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("handshake error %q; want a protocol version alert", err)
	}
}

// TLS 1.2 with only CBC-SHA1 suites, which Go still enables by default, is
// refused: the server offers forward-secret AEAD suites only.
func TestTLS12CBCSuitesRefused(t *testing.T) {
	s, pki, _ := startTLS(t, Options{})
	_, err := tls.Dial("tcp", s.Addr().String(), &tls.Config{
		RootCAs:      pki.pool,
		MaxVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA},
	})
	if err == nil {
		t.Fatal("handshake with CBC-only suites succeeded")
	}
}

func TestListenFailsOnBadCertificate(t *testing.T) {
	pki := newPKI(t)
	certA, keyA := pki.leaf(t, 1)
	_, keyB := pki.leaf(t, 2)
	for name, pair := range map[string][2][]byte{
		"garbage":    {[]byte("not a certificate"), keyA},
		"wrong key":  {certA, keyB},
		"empty":      {nil, nil},
		"key as pem": {keyA, keyA},
	} {
		files := newCertFiles(t)
		files.write(t, pair[0], pair[1])
		_, err := Listen(t.Context(), Options{Addr: "127.0.0.1:0", Handler: helloHandler,
			TLSCertFile: files.cert, TLSKeyFile: files.key, Logger: quietLogger()})
		if err == nil || !strings.Contains(err.Error(), "TLS certificate") {
			t.Errorf("%s: Listen error %v", name, err)
		}
	}
	_, err := Listen(t.Context(), Options{Addr: "127.0.0.1:0", Handler: helloHandler,
		TLSCertFile: "/nonexistent/cert.pem", TLSKeyFile: "/nonexistent/key.pem", Logger: quietLogger()})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing files: Listen error %v", err)
	}
}

func TestCertificateReload(t *testing.T) {
	log := &recordLogger{}
	s, pki, files := startTLS(t, Options{Logger: slogFrom(log)})
	addr := s.Addr().String()
	if got := servedSerial(t, addr, pki); got != 100 {
		t.Fatalf("serial %d, want 100", got)
	}

	files.writeLeaf(t, pki, 200)
	if err := s.ReloadCertificate(); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, addr, pki); got != 200 {
		t.Fatalf("after reload: serial %d, want 200", got)
	}

	// A broken pair, then a mismatched one: both refused, 200 still served.
	files.write(t, []byte("-----BEGIN CERTIFICATE-----\nbroken\n"), []byte("junk"))
	if err := s.ReloadCertificate(); err == nil {
		t.Error("reload of a broken pair succeeded")
	}
	cert300, _ := pki.leaf(t, 300)
	_, key400 := pki.leaf(t, 400)
	files.write(t, cert300, key400)
	if err := s.ReloadCertificate(); err == nil {
		t.Error("reload of a mismatched pair succeeded")
	}
	if got := servedSerial(t, addr, pki); got != 200 {
		t.Errorf("after bad reloads: serial %d, want 200 kept", got)
	}
	if !log.has("ERROR server: TLS certificate reload failed") {
		t.Error("failed reload not logged at error level")
	}
}

func TestCertificateReloadOnFileChange(t *testing.T) {
	rec := &recordLogger{}
	s, pki, files := startTLS(t, Options{CertCheckInterval: 20 * time.Millisecond, Logger: slogFrom(rec)})
	addr := s.Addr().String()
	files.writeLeaf(t, pki, 500)
	deadline := time.Now().Add(10 * time.Second)
	for servedSerial(t, addr, pki) != 500 {
		if time.Now().After(deadline) {
			t.Fatal("changed files not picked up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A bad pair written later does not replace the good one.
	files.write(t, []byte("junk"), []byte("junk"))
	for !rec.has("reload failed") {
		if time.Now().After(deadline) {
			t.Fatal("changed bad files not noticed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := servedSerial(t, addr, pki); got != 500 {
		t.Errorf("serial %d after bad files, want 500", got)
	}
}

// closedWithin reports whether the server closes conn within limit while
// send keeps trickling bytes to it. limit is a generous bound for the test,
// not a measurement.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration, send func() error) bool {
	t.Helper()
	stop := make(chan struct{})
	defer close(stop)
	if send != nil {
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if send() != nil {
						return
					}
				}
			}
		}()
	}
	conn.SetReadDeadline(time.Now().Add(limit))
	_, err := io.ReadAll(conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// Slowloris: a client that trickles its headers (or sends nothing) holds a
// connection only until ReadHeaderTimeout. Without the timeout these
// connections would stay open for the 10s the test allows.
func TestSlowHeadersAreCutOff(t *testing.T) {
	opts := Options{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute}
	s, pki, _ := startTLS(t, opts)
	plain := startServer(t, opts)
	addr := s.Addr().String()
	trickle := func(c net.Conn, prefix string) func() error {
		if _, err := io.WriteString(c, prefix); err != nil {
			t.Fatal(err)
		}
		return func() error { _, err := io.WriteString(c, "x"); return err }
	}

	t.Run("https", func(t *testing.T) {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pki.pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !closedWithin(t, c, 10*time.Second, trickle(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")) {
			t.Error("slow TLS request still open")
		}
	})
	t.Run("plain http on the https port", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !closedWithin(t, c, 10*time.Second, trickle(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")) {
			t.Error("slow plain request on the TLS port still open")
		}
	})
	t.Run("silent connection", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !closedWithin(t, c, 10*time.Second, nil) {
			t.Error("silent connection still open")
		}
	})
	t.Run("slow TLS handshake", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// A TLS record header announcing a ClientHello that never comes.
		if !closedWithin(t, c, 10*time.Second, trickle(c, "\x16\x03\x01\x02\x00")) {
			t.Error("stalled handshake still open")
		}
	})
	t.Run("plain server", func(t *testing.T) {
		c, err := net.Dial("tcp", plain.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if !closedWithin(t, c, 10*time.Second, trickle(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")) {
			t.Error("slow request on the plain server still open")
		}
	})
}

// Shutdown waits for a request in flight: the client gets its whole answer,
// the handler's context is not cancelled by the shutdown signal, and Serve
// returns nil only after the handler is done.
func TestGracefulShutdownWaitsForInFlight(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := map[bool]string{false: "http", true: "https"}[useTLS]
		t.Run(name, func(t *testing.T) {
			started, release := make(chan struct{}), make(chan struct{})
			var finished, ctxCancelled atomic.Bool
			o := Options{
				Addr:   "127.0.0.1:0",
				Logger: quietLogger(),
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					close(started)
					<-release
					ctxCancelled.Store(r.Context().Err() != nil)
					io.WriteString(w, "done")
					finished.Store(true)
				}),
			}
			client := http.DefaultClient
			scheme := "http"
			if useTLS {
				pki := newPKI(t)
				files := newCertFiles(t)
				files.writeLeaf(t, pki, 1)
				o.TLSCertFile, o.TLSKeyFile, o.CertCheckInterval = files.cert, files.key, -1
				client, scheme = httpsClient(t, pki), "https"
			}
			s, err := Listen(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- s.Serve(ctx) }()

			type result struct {
				body string
				err  error
			}
			got := make(chan result, 1)
			go func() {
				resp, err := client.Get(scheme + "://" + s.Addr().String() + "/slow")
				if err != nil {
					got <- result{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				got <- result{string(b), err}
			}()
			<-started
			cancel()
			select {
			case err := <-served:
				t.Fatalf("Serve returned %v while a request was in flight", err)
			case <-time.After(100 * time.Millisecond):
			}
			close(release)
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
			if !finished.Load() {
				t.Error("Serve returned before the handler finished")
			}
			if ctxCancelled.Load() {
				t.Error("the shutdown signal cancelled the request's context")
			}
			if r := <-got; r.err != nil || r.body != "done" {
				t.Errorf("client got %q, %v", r.body, r.err)
			}
			if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
				t.Error("still accepting after shutdown")
			}
		})
	}
}

// A request that outlives ShutdownTimeout is cut off and Serve says so.
func TestShutdownTimeout(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	s, err := Listen(t.Context(), Options{
		Addr:            "127.0.0.1:0",
		Logger:          quietLogger(),
		ShutdownTimeout: 100 * time.Millisecond,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	clientErr := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr().String() + "/")
		if err == nil {
			resp.Body.Close()
		}
		clientErr <- err
	}()
	<-started
	cancel()
	if err := <-served; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve = %v, want a deadline error", err)
	}
	if err := <-clientErr; err == nil {
		t.Error("request cut off at shutdown still succeeded")
	}
}

// Connections that have not sent a byte are closed at shutdown, not waited
// for (browsers open such speculative connections all the time).
func TestShutdownClosesSilentConnections(t *testing.T) {
	pki := newPKI(t)
	files := newCertFiles(t)
	files.writeLeaf(t, pki, 1)
	s, err := Listen(t.Context(), Options{Addr: "127.0.0.1:0", Handler: helloHandler, Logger: quietLogger(),
		TLSCertFile: files.cert, TLSKeyFile: files.key, ReadHeaderTimeout: time.Hour, ShutdownTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Make sure the server has accepted it: a plain request on another
	// connection is answered only after Serve runs.
	rawExchange(t, s.Addr().String(), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a silent connection held up shutdown")
	}
}

func TestServeTwice(t *testing.T) {
	s := startServer(t, Options{})
	// Once a request is answered the first Serve is running.
	resp, err := http.Get("http://" + s.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := s.Serve(ctx); err == nil {
		t.Error("second Serve succeeded")
	}
}

func TestErrorLogLevels(t *testing.T) {
	rec := &recordLogger{}
	l := newErrorLog(slogFrom(rec))
	l.Printf("http: TLS handshake error from 1.2.3.4:5: EOF")
	l.Printf("http: panic serving 1.2.3.4:5: boom")
	l.Printf("http: superfluous response.WriteHeader call")
	for _, want := range []string{
		"DEBUG http: TLS handshake error",
		"ERROR http: panic serving",
		"WARN http: superfluous",
	} {
		if !rec.has(want) {
			t.Errorf("no %q in %q", want, rec.msgs)
		}
	}
}

func TestServeWithCancelledContextReleasesListeners(t *testing.T) {
	pki := newPKI(t)
	files := newCertFiles(t)
	files.writeLeaf(t, pki, 1)
	for name, o := range map[string]Options{
		"http":  {},
		"https": {TLSCertFile: files.cert, TLSKeyFile: files.key, HTTPAddr: "127.0.0.1:0"},
	} {
		o.Addr, o.Handler, o.Logger = "127.0.0.1:0", helloHandler, quietLogger()
		s, err := Listen(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Serve(ctx); err != nil {
			t.Errorf("%s: Serve = %v", name, err)
		}
		for _, a := range []net.Addr{s.Addr(), s.HTTPAddr()} {
			if a == nil {
				continue
			}
			l, err := net.Listen("tcp", a.String())
			if err != nil {
				t.Errorf("%s: %s still bound: %v", name, a, err)
				continue
			}
			l.Close()
		}
	}
}
