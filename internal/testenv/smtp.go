package testenv

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPServer is a real SMTP server on a loopback port, in this process,
// that keeps every message it receives. It speaks plain SMTP without TLS
// or authentication: the mailer allows that only for loopback hosts.
type SMTPServer struct {
	// Addr is the server's host:port, for SMTP_URL=smtp://Addr.
	Addr string

	mu      sync.Mutex
	mails   []Mail
	arrived chan struct{} // closed and replaced on every new mail
	refuse  int           // how many next deliveries to refuse (for retry tests)
}

// Mail is one received message, decoded.
type Mail struct {
	From    string   // the envelope sender
	To      []string // the envelope recipients
	Header  mail.Header
	Subject string // decoded
	Body    string // decoded from quoted-printable or base64
	Raw     []byte // the message as received
}

// SMTP starts a server on 127.0.0.1 for the test and stops it when the
// test ends.
func SMTP(t testing.TB) *SMTPServer {
	t.Helper()
	return SMTPAt(t, "127.0.0.1")
}

// SMTPAt is SMTP on another local address, such as the machine's own
// non-loopback address (see LocalAddr), for tests of what a client does
// with a server that is not on loopback.
func SMTPAt(t testing.TB, ip string) *SMTPServer {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("smtp: listen: %v", err)
	}
	s := &SMTPServer{Addr: l.Addr().String(), arrived: make(chan struct{})}
	srv := smtp.NewServer(smtpBackend{s})
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.MaxRecipients = 10
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// LocalAddr returns an address of this machine that is not loopback, or
// skips the test when it has none.
func LocalAddr(t testing.TB) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	t.Skip("no non-loopback IPv4 address on this machine")
	return ""
}

// URL returns the SMTP_URL of the server.
func (s *SMTPServer) URL() string { return "smtp://" + s.Addr }

// Refuse makes the server refuse the next n messages with a temporary
// error (451), as a mail server under load does.
func (s *SMTPServer) Refuse(n int) {
	s.mu.Lock()
	s.refuse = n
	s.mu.Unlock()
}

// Mails returns the messages received so far, oldest first.
func (s *SMTPServer) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Wait returns the first message to `to` received at or after the
// messages already counted in skip, waiting up to 10 seconds, and fails
// the test if none comes. Pass len(Mails()) taken before an action to
// wait for the mail that action sends.
func (s *SMTPServer) Wait(t testing.TB, to string, skip int) Mail {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		for i := skip; i < len(s.mails); i++ {
			for _, rcpt := range s.mails[i].To {
				if strings.EqualFold(rcpt, to) {
					m := s.mails[i]
					s.mu.Unlock()
					return m
				}
			}
		}
		ch := s.arrived
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("smtp: no mail to %s within 10s (%d received)", to, len(s.Mails()))
		}
	}
}

// Count waits d and returns how many messages have arrived in all, for
// asserting that a mail was not sent.
func (s *SMTPServer) Count(d time.Duration) int {
	time.Sleep(d)
	return len(s.Mails())
}

func (s *SMTPServer) add(m Mail) {
	s.mu.Lock()
	s.mails = append(s.mails, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
}

func (s *SMTPServer) takeRefusal() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse > 0 {
		s.refuse--
		return true
	}
	return false
}

type smtpBackend struct{ s *SMTPServer }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &smtpSession{s: b.s}, nil
}

type smtpSession struct {
	s    *SMTPServer
	from string
	to   []string
}

func (x *smtpSession) Reset()        { x.from, x.to = "", nil }
func (x *smtpSession) Logout() error { return nil }

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.s.takeRefusal() {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	m, err := decodeMail(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	m.From, m.To = x.from, x.to
	x.s.add(m)
	return nil
}

// decodeMail reads a single-part text message as the mailer writes it.
func decodeMail(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	body, err := io.ReadAll(msg.Body)
	if err != nil {
		return Mail{}, err
	}
	switch strings.ToLower(msg.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	case "base64":
		body, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(body)))
	case "", "7bit", "8bit", "binary":
	default:
		err = errors.New("unknown transfer encoding")
	}
	if err != nil {
		return Mail{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Mail{}, err
	}
	return Mail{Header: msg.Header, Subject: subject, Body: strings.ReplaceAll(string(body), "\r\n", "\n"), Raw: raw}, nil
}
