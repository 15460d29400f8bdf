package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkhq/bulwark/headers"
)

const (
	// recordTypeHandshake is the first byte of every TLS connection
	// (RFC 8446, section 5.1). No HTTP method starts with it.
	recordTypeHandshake = 0x16

	// redirectWriteTimeout bounds writing the short answer to a client
	// that does not read it.
	redirectWriteTimeout = 5 * time.Second

	// After answering, the rest of what the client sent (a POST body) is
	// read and dropped for a moment, up to a size, before closing. Closing a
	// socket with unread data makes the kernel send a reset, which can
	// destroy the answer before the client reads it. net/http waits 500ms too.
	lingerTimeout  = 500 * time.Millisecond
	lingerMaxBytes = 256 << 10
)

// redirector answers plain-HTTP connections with a redirect to https and
// keeps track of them, so that shutdown can close the idle ones at once and
// wait for the others.
type redirector struct {
	httpsPort      string // port of Addr, kept in Location when Host names it
	headerTimeout  time.Duration
	maxHeaderBytes int
	log            *slog.Logger

	wg     sync.WaitGroup // one per tracked connection
	mu     sync.Mutex
	conns  map[net.Conn]bool // true once a plain request is being read
	closed bool
}

func newRedirector(httpsPort string, headerTimeout time.Duration, maxHeaderBytes int, logger *slog.Logger) *redirector {
	return &redirector{
		httpsPort:      httpsPort,
		headerTimeout:  headerTimeout,
		maxHeaderBytes: maxHeaderBytes,
		log:            logger,
		conns:          make(map[net.Conn]bool),
	}
}

// track registers a new connection; false means the redirector is shut down.
// wg.Add happens under mu, before shutdown sets closed, so it never races
// with shutdown's Wait.
func (rd *redirector) track(c net.Conn) bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.closed {
		return false
	}
	rd.conns[c] = false
	rd.wg.Add(1)
	return true
}

func (rd *redirector) setActive(c net.Conn) {
	rd.mu.Lock()
	rd.conns[c] = true
	rd.mu.Unlock()
}

// forget stops tracking c, which now belongs to the TLS server: shutdown
// must not close it as idle.
func (rd *redirector) forget(c net.Conn) {
	rd.mu.Lock()
	delete(rd.conns, c)
	rd.mu.Unlock()
}

// untrack marks the end of the goroutine that track counted.
func (rd *redirector) untrack(c net.Conn) {
	rd.forget(c)
	rd.wg.Done()
}

// shutdown refuses new connections, closes those that have not sent a byte,
// and waits for the others until ctx ends, when it closes them too.
func (rd *redirector) shutdown(ctx context.Context) error {
	rd.closeConns(false)
	done := make(chan struct{})
	go func() {
		rd.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		rd.closeConns(true)
		<-done
		return ctx.Err()
	}
}

func (rd *redirector) closeConns(active bool) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.closed = true
	for c, isActive := range rd.conns {
		if active || !isActive {
			_ = c.Close()
		}
	}
}

// sniffListener accepts connections from inner and sorts them by their first
// byte, read on a goroutine per connection so that a silent client never
// holds up Accept. TLS handshakes are returned from Accept when passTLS is
// set; everything else is answered by the redirector.
type sniffListener struct {
	inner   net.Listener
	rd      *redirector
	passTLS bool

	tlsConns  chan net.Conn
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	stopped   chan struct{} // closed when run returns
	err       error         // why run returned; read after stopped
}

func newSniffListener(inner net.Listener, rd *redirector, passTLS bool) *sniffListener {
	return &sniffListener{
		inner:    inner,
		rd:       rd,
		passTLS:  passTLS,
		tlsConns: make(chan net.Conn),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
}

// run accepts connections until the listener is closed (it then returns nil)
// or fails.
func (l *sniffListener) run() error {
	defer close(l.stopped)
	var delay time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.done:
				l.err = net.ErrClosed
				return nil
			default:
			}
			// Out of file descriptors and the like: wait and retry,
			// as net/http does.
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.rd.log.Warn("server: accept failed; retrying", slog.Any("error", err), slog.Duration("delay", delay))
				select {
				case <-time.After(delay):
					continue
				case <-l.done:
					l.err = net.ErrClosed
					return nil
				}
			}
			l.err = fmt.Errorf("accept on %s: %w", l.inner.Addr(), err)
			return l.err
		}
		delay = 0
		if !l.rd.track(c) {
			_ = c.Close()
			continue
		}
		go l.dispatch(c)
	}
}

// dispatch reads the first byte of c and hands c to the TLS server or
// answers it.
func (l *sniffListener) dispatch(c net.Conn) {
	handedOff := false
	defer func() {
		if !handedOff {
			_ = c.Close()
		}
		l.rd.untrack(c)
	}()
	if err := c.SetDeadline(time.Now().Add(l.rd.headerTimeout)); err != nil {
		return
	}
	var first [1]byte
	if _, err := io.ReadFull(c, first[:]); err != nil {
		return // silent or gone: nothing to answer
	}
	if first[0] == recordTypeHandshake {
		if !l.passTLS {
			// A TLS client on the redirect port: it cannot read an
			// HTTP answer, and waiting for a request line would only
			// keep it hanging until the timeout.
			return
		}
		// net/http sets its own handshake deadline.
		if err := c.SetDeadline(time.Time{}); err != nil {
			return
		}
		l.rd.forget(c)
		select {
		case l.tlsConns <- &prefixConn{Conn: c, prefix: first[:]}:
			handedOff = true
		case <-l.done:
		}
		return
	}
	l.rd.setActive(c)
	l.rd.serveConn(c, first[0])
}

// Accept returns the next connection that starts with a TLS handshake.
func (l *sniffListener) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.tlsConns:
		return c, nil
	case <-l.stopped:
		return nil, l.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting. Connections still being sorted are closed when they
// would be handed to Accept, or answered if they are plain HTTP; shutdown of
// the redirector closes the silent ones. Calling Close again returns nil.
func (l *sniffListener) Close() error {
	err := error(nil)
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr returns the address of the underlying listener.
func (l *sniffListener) Addr() net.Addr { return l.inner.Addr() }

// prefixConn gives back the byte sniffListener read before the TLS server
// reads the rest.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// serveConn answers one plain-HTTP request on c, whose first byte has been
// read already, and leaves c for the caller to close. The read deadline set
// before the first byte still applies.
func (rd *redirector) serveConn(c net.Conn, first byte) {
	r := io.MultiReader(bytes.NewReader([]byte{first}), c)
	w := &deadlineWriter{c: c}
	status, err := rd.answer(w, r)
	if status == 0 {
		rd.log.Debug("server: plain HTTP connection dropped", slog.String("remote", c.RemoteAddr().String()), slog.Any("error", err))
		return
	}
	rd.log.Debug("server: plain HTTP redirected to https", slog.String("remote", c.RemoteAddr().String()), slog.Int("status", status))
	if err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		if c.SetReadDeadline(time.Now().Add(lingerTimeout)) == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(c, lingerMaxBytes))
		}
	}
}

// deadlineWriter sets a fresh write deadline before writing, so that the
// header read deadline does not cut short the answer.
type deadlineWriter struct{ c net.Conn }

func (w *deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.SetWriteDeadline(time.Now().Add(redirectWriteTimeout)); err != nil {
		return 0, err
	}
	return w.c.Write(p)
}

// answer reads one request of at most maxHeaderBytes from r and writes to w
// a redirect to https or, for anything it cannot use, 400 Bad Request. It
// returns the status written, or 0 with the error when reading timed out
// between lines and nothing is written (a read cut off mid-line reaches the
// parser as a malformed line and gets its 400); otherwise err is the write
// error.
func (rd *redirector) answer(w io.Writer, r io.Reader) (status int, err error) {
	br := bufio.NewReaderSize(io.LimitReader(r, int64(rd.maxHeaderBytes)), 4096)
	req, readErr := http.ReadRequest(br)
	location := ""
	var ne net.Error
	switch {
	case errors.As(readErr, &ne) && ne.Timeout():
		return 0, readErr
	case readErr != nil:
		status = http.StatusBadRequest
	default:
		status, location, _ = headers.HTTPSRedirectTarget(req, rd.keepPort)
	}
	return status, writeAnswer(w, status, location)
}

// keepPort keeps the port in the https URL only when it is the HTTPS port
// itself: a client that typed http://name:8443 reached the TLS port and
// should stay on it; any other port, such as 80, is dropped for https'
// default 443.
func (rd *redirector) keepPort(port string) bool {
	return port == rd.httpsPort && port != "443"
}

// writeAnswer writes a complete response that closes the connection.
// headers.HTTPSRedirectTarget guarantees location holds only visible ASCII.
func writeAnswer(w io.Writer, status int, location string) error {
	body := ""
	if status == http.StatusBadRequest {
		body = "400 Bad Request: send a valid HTTP/1.x request with a Host header, over https.\n"
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 ")
	b.WriteString(strconv.Itoa(status))
	b.WriteByte(' ')
	b.WriteString(http.StatusText(status))
	b.WriteString("\r\n")
	if location != "" {
		b.WriteString("Location: ")
		b.WriteString(location)
		b.WriteString("\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Length: ")
	b.WriteString(strconv.Itoa(len(body)))
	b.WriteString("\r\nConnection: close\r\n\r\n")
	b.WriteString(body)
	_, err := io.WriteString(w, b.String())
	return err
}
