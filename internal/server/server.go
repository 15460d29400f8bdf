package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults used for zero fields of Options. doc.go explains each value.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = 20 * time.Second
	DefaultCertCheckInterval = 5 * time.Second
)

// Options configure a Server. Zero durations and sizes mean the defaults
// above, never "unlimited".
type Options struct {
	// Addr is the TCP address to listen on, such as "127.0.0.1:8080".
	// Port 0 picks a free port; Server.Addr reports it.
	Addr string

	// Handler answers every request on Addr.
	Handler http.Handler

	// TLSCertFile and TLSKeyFile are PEM files. Set both to serve HTTPS on
	// Addr; set neither to serve plain HTTP.
	TLSCertFile, TLSKeyFile string

	// HTTPAddr, with TLS on, is a second listener that only redirects to
	// https (301 for GET and HEAD, 308 otherwise), for example ":80".
	HTTPAddr string

	ReadHeaderTimeout time.Duration // zero: DefaultReadHeaderTimeout
	ReadTimeout       time.Duration // zero: DefaultReadTimeout
	WriteTimeout      time.Duration // zero: DefaultWriteTimeout
	IdleTimeout       time.Duration // zero: DefaultIdleTimeout
	MaxHeaderBytes    int           // zero: DefaultMaxHeaderBytes

	// ShutdownTimeout is how long in-flight requests may run once the
	// context given to Serve or Run is cancelled. Zero: DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// CertCheckInterval is how often the TLS files' modification time and
	// size are checked for a renewed certificate. Zero:
	// DefaultCertCheckInterval; negative: never (reload on SIGHUP only).
	CertCheckInterval time.Duration

	// Logger receives the server's own events. Nil: slog.Default().
	Logger *slog.Logger

	// ErrorLog receives net/http's error messages. Nil: they go to Logger,
	// TLS handshake failures (scanners, expired client trust stores) at
	// debug level so they do not drown real warnings, handler panics at
	// error level and the rest at warn level.
	ErrorLog *log.Logger
}

// withDefaults validates o and fills in its zero fields.
func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		return o, errors.New("server: Options.Addr is empty")
	}
	if o.Handler == nil {
		return o, errors.New("server: Options.Handler is nil")
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return o, errors.New("server: TLSCertFile and TLSKeyFile must be set together")
	}
	if o.HTTPAddr != "" && o.TLSCertFile == "" {
		return o, errors.New("server: HTTPAddr redirects to https and needs TLSCertFile and TLSKeyFile")
	}
	for _, d := range []time.Duration{o.ReadHeaderTimeout, o.ReadTimeout, o.WriteTimeout, o.IdleTimeout, o.ShutdownTimeout} {
		if d < 0 {
			return o, errors.New("server: timeouts must not be negative")
		}
	}
	if o.MaxHeaderBytes < 0 {
		return o, errors.New("server: MaxHeaderBytes must not be negative")
	}
	setDefault(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	setDefault(&o.ReadTimeout, DefaultReadTimeout)
	setDefault(&o.WriteTimeout, DefaultWriteTimeout)
	setDefault(&o.IdleTimeout, DefaultIdleTimeout)
	setDefault(&o.MaxHeaderBytes, DefaultMaxHeaderBytes)
	setDefault(&o.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&o.CertCheckInterval, DefaultCertCheckInterval)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ErrorLog == nil {
		o.ErrorLog = newErrorLog(o.Logger)
	}
	return o, nil
}

func setDefault[T time.Duration | int](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Server is a bound, not yet serving, set of listeners. Make one with Listen.
type Server struct {
	opts   Options
	log    *slog.Logger
	ln     net.Listener // Addr
	httpLn net.Listener // HTTPAddr; nil when unset
	certs  *certReloader
	rd     *redirector
	http   *http.Server
	served atomic.Bool
}

// Run listens on o.Addr (and o.HTTPAddr) and serves until ctx is cancelled,
// then shuts down gracefully within o.ShutdownTimeout. With TLS on, SIGHUP
// reloads the certificate. It returns nil after a clean shutdown.
func Run(ctx context.Context, o Options) error {
	s, err := Listen(ctx, o)
	if err != nil {
		return err
	}
	if s.certs != nil {
		ctx, cancel := context.WithCancel(ctx)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-hup:
					_ = s.ReloadCertificate() // logged by the reloader
				case <-ctx.Done():
					return
				}
			}
		})
		defer func() {
			signal.Stop(hup)
			cancel()
			wg.Wait()
		}()
	}
	return s.Serve(ctx)
}

// Listen checks o, loads the TLS certificate if any and binds the listeners,
// so a caller learns the addresses (port 0) before serving. It fails if the
// certificate does not load. ctx bounds only the binding. Serve releases
// the listeners when it returns; to release them without serving, call Serve
// with a cancelled context.
func Listen(ctx context.Context, o Options) (*Server, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, log: o.Logger}
	if o.TLSCertFile != "" {
		s.certs, err = newCertReloader(o.TLSCertFile, o.TLSKeyFile, o.Logger)
		if err != nil {
			return nil, fmt.Errorf("server: loading the TLS certificate: %w", err)
		}
	}
	var lc net.ListenConfig
	s.ln, err = lc.Listen(ctx, "tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if o.HTTPAddr != "" {
		s.httpLn, err = lc.Listen(ctx, "tcp", o.HTTPAddr)
		if err != nil {
			_ = s.ln.Close()
			return nil, fmt.Errorf("server: redirect listener: %w", err)
		}
	}
	s.http = &http.Server{
		Handler:           o.Handler,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          o.ErrorLog,
		Protocols:         new(http.Protocols),
	}
	s.http.Protocols.SetHTTP1(true)
	if s.certs != nil {
		s.http.Protocols.SetHTTP2(true)
		s.http.TLSConfig = tlsConfig(s.certs)
		_, port, _ := net.SplitHostPort(s.ln.Addr().String())
		s.rd = newRedirector(port, o.ReadHeaderTimeout, o.MaxHeaderBytes, o.Logger)
	}
	return s, nil
}

// tlsConfig is Mozilla's "intermediate" profile: TLS 1.2 and 1.3, and for
// TLS 1.2 only forward-secret AEAD suites (Go's defaults still include
// CBC-SHA1 suites). Curves stay Go's defaults, which include the
// post-quantum hybrids. ServeTLS adds "h2" and "http/1.1" to NextProtos.
func tlsConfig(c *certReloader) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: c.getCertificate,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// Addr is the address the server listens on for Options.Addr.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// HTTPAddr is the address of the redirect-only listener, or nil without one.
func (s *Server) HTTPAddr() net.Addr {
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

// ReloadCertificate re-reads the TLS certificate and key now, as SIGHUP does.
// On error the previous certificate keeps serving. Without TLS it does nothing.
func (s *Server) ReloadCertificate() error {
	if s.certs == nil {
		return nil
	}
	return s.certs.reload()
}

// Serve serves until ctx is cancelled or a listener fails, then stops
// accepting, gives in-flight requests up to ShutdownTimeout and closes what
// is left. It returns nil after a clean shutdown. Request contexts are not
// cancelled by ctx: they end when their request does, or at the forced close.
// Serve may be called once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("server: Serve called twice")
	}
	base := context.WithoutCancel(ctx)
	s.http.BaseContext = func(net.Listener) context.Context { return base }

	errc := make(chan error, 2)
	var loops sync.WaitGroup // accept loops and the certificate watcher
	stop := make(chan struct{})
	var main, redirectOnly *sniffListener
	if s.certs == nil {
		loops.Go(func() { errc <- s.http.Serve(s.ln) })
	} else {
		main = newSniffListener(s.ln, s.rd, true)
		loops.Go(func() { _ = main.run() }) // its errors reach ServeTLS through Accept
		loops.Go(func() { errc <- s.http.ServeTLS(main, "", "") })
		if s.httpLn != nil {
			redirectOnly = newSniffListener(s.httpLn, s.rd, false)
			loops.Go(func() {
				if err := redirectOnly.run(); err != nil {
					errc <- err
				}
			})
		}
		if s.opts.CertCheckInterval > 0 {
			loops.Go(func() { s.certs.watch(stop, s.opts.CertCheckInterval) })
		}
	}
	attrs := []any{slog.String("addr", s.Addr().String()), slog.Bool("tls", s.certs != nil)}
	if a := s.HTTPAddr(); a != nil {
		attrs = append(attrs, slog.String("redirect_addr", a.String()))
	}
	s.log.Info("server: listening", attrs...)

	var failed error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			failed = fmt.Errorf("server: %w", err)
		}
	}
	s.log.Info("server: shutting down", slog.Duration("timeout", s.opts.ShutdownTimeout))
	close(stop)
	shutdownErr := s.shutdown(base, main, redirectOnly)
	loops.Wait()
	if failed != nil {
		return failed
	}
	if shutdownErr == nil {
		s.log.Info("server: stopped")
	}
	return shutdownErr
}

// shutdown stops the listeners, waits for in-flight requests and redirects
// until ShutdownTimeout, then closes the connections that are left.
func (s *Server) shutdown(ctx context.Context, main, redirectOnly *sniffListener) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ShutdownTimeout)
	defer cancel()
	if redirectOnly != nil {
		_ = redirectOnly.Close()
	}
	var wg sync.WaitGroup
	var rdErr error
	if s.rd != nil {
		wg.Go(func() { rdErr = s.rd.shutdown(ctx) })
	}
	// Shutdown closes the listener it serves. Closing it again is harmless
	// and covers a ServeTLS that failed before it took the listener.
	err := s.http.Shutdown(ctx)
	if err != nil {
		_ = s.http.Close()
	}
	if main != nil {
		_ = main.Close()
	}
	wg.Wait()
	if err == nil {
		err = rdErr
	}
	if err != nil {
		s.log.Warn("server: in-flight requests cut off at the shutdown timeout",
			slog.Duration("timeout", s.opts.ShutdownTimeout))
		return fmt.Errorf("server: shutdown: requests still running after %s were closed: %w",
			s.opts.ShutdownTimeout, err)
	}
	return nil
}
