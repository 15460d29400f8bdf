package app

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwarkhq/bulwark/internal/app/pages"
	"github.com/bulwarkhq/bulwark/mailer"
)

// mailDrainTimeout bounds how long shutdown waits for queued mail.
const mailDrainTimeout = 10 * time.Second

// openMail builds the mail queue: SMTP when SMTP_URL is set; in
// development without it, the log (links included, so a developer can
// follow them: the one place a token may reach a log); in production
// without it, nothing (Deps.Mail stays nil and password reset is off;
// `bulwark check` says so).
func (d *Deps) openMail() error {
	cfg := d.Config
	var s mailer.Sender
	switch {
	case cfg.MailConfigured():
		raw := cfg.SMTPURL.Reveal()
		smtp, err := mailer.NewSMTPSender(string(raw), cfg.MailFrom)
		clear(raw)
		if err != nil {
			return fmt.Errorf("SMTP_URL or MAIL_FROM: %w", err)
		}
		s = smtp
	case !cfg.Production:
		s = mailer.LogSender{Log: d.Log}
	default:
		d.Log.Warn("SMTP_URL is not set: password reset and email verification mail are off")
		return nil
	}
	q := mailer.NewQueue(d.Metrics.sender(s), mailer.QueueOptions{Log: d.Log})
	d.Mail = q
	d.closers = append(d.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), mailDrainTimeout)
		defer cancel()
		if err := q.Close(ctx); err != nil {
			d.Log.Warn("mail queue not drained at shutdown", "error", err)
		}
	})
	return nil
}

// mailer returns Mail as the pages' interface, counting refused messages:
// nil, not a nil *Queue, when there is none.
func (d *Deps) mailer() pages.Mailer {
	if d.Mail == nil {
		return nil
	}
	return meteredMailer{d.Mail, d.Metrics}
}
