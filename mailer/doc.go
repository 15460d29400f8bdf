// Package mailer sends the few mails a web service must send — address
// verification, password reset, security notices — without letting a slow
// or broken mail server slow down or break a request.
//
// A Message is plain text with one recipient. A Sender delivers it:
// NewSMTPSender talks to the server named by an SMTP URL (STARTTLS is
// required unless the server is on loopback; smtps:// uses implicit TLS),
// and LogSender writes the whole message, links included, to a log for
// development, where no mail server is configured. A Queue sits in front of
// a Sender: Enqueue returns at once, a background worker delivers with
// retries and backoff, a full queue drops (and logs) rather than blocks,
// and Close drains what is queued before shutdown.
//
// The package is called mailer, not mail, so that it does not collide with
// net/mail.
package mailer
