package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one plain-text mail to one recipient.
type Message struct {
	To      string // a bare address, such as someone@example.com
	Subject string // one line
	Body    string // plain text; links go here, on lines of their own
}

// check refuses a message a mail server would misread: an unparsable
// recipient, or line breaks in the subject (header injection).
func (m Message) check() error {
	a, err := mail.ParseAddress(m.To)
	if err != nil || a.Address != m.To {
		return errors.New("mailer: the recipient must be a bare mail address")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return errors.New("mailer: the subject must be one line")
	}
	return nil
}

// A Sender delivers a message, or says why it could not. It is safe for
// concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTPSender delivers through an SMTP server, one connection per message
// (the service sends few mails; a kept-open connection would only go
// stale).
type SMTPSender struct {
	cfg     SMTPConfig
	from    string
	timeout time.Duration
}

// NewSMTPSender returns a sender for the server named by rawURL (see
// ParseSMTPURL) that sends from the address from (such as
// "Bulwark <bulwark@example.com>"). Nothing is dialed until Send.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	cfg, err := ParseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("mailer: from address: %w", err)
	}
	return &SMTPSender{cfg: cfg, from: from, timeout: 15 * time.Second}, nil
}

// Send dials the server, secures the connection (implicit TLS, or STARTTLS
// that is required unless the server is on loopback), authenticates when
// the URL has a user, and delivers m.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	if err := m.check(); err != nil {
		return err
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mailer: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mailer: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)

	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.timeout)}
	switch {
	case s.cfg.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case s.cfg.StartTLSOptional:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mailer: smtp client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mailer: send to %s: %w", s.cfg.Addr(), err)
	}
	return nil
}

// LogSender writes each message, body and links included, to Log instead
// of sending it, so that a developer without a mail server can follow the
// links. Never use it in production: the body of a reset mail is a
// credential.
type LogSender struct {
	Log *slog.Logger
}

// Send logs m at level Info.
func (s LogSender) Send(ctx context.Context, m Message) error {
	if err := m.check(); err != nil {
		return err
	}
	s.Log.InfoContext(ctx, "mail (not sent: SMTP_URL is unset; development only)",
		"to", m.To, "subject", m.Subject, "body", m.Body)
	return nil
}
