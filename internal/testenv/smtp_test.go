package testenv

import (
	"net/smtp"
	"strings"
	"testing"
)

// The test server receives a message from net/smtp and decodes it.
func TestSMTPReceives(t *testing.T) {
	s := SMTP(t)
	msg := "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?utf-8?q?H=C3=A9llo?=\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\nhttps://x.example/reset?token=3Dabc=\r\ndef\r\n"
	if err := smtp.SendMail(s.Addr, nil, "a@example.com", []string{"b@example.com"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	m := s.Wait(t, "b@example.com", 0)
	if m.From != "a@example.com" || m.Subject != "Héllo" || !strings.Contains(m.Body, "https://x.example/reset?token=abcdef") {
		t.Errorf("got %+v", m)
	}
	s.Refuse(1)
	if err := smtp.SendMail(s.Addr, nil, "a@example.com", []string{"b@example.com"}, []byte(msg)); err == nil || !strings.Contains(err.Error(), "451") {
		t.Errorf("refusal: %v", err)
	}
	if n := len(s.Mails()); n != 1 {
		t.Errorf("%d mails after a refusal, want 1", n)
	}
}
