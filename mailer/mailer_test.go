package mailer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/internal/testenv"
	"github.com/bulwarkhq/bulwark/mailer"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestSMTPSenderDelivers(t *testing.T) {
	srv := testenv.SMTP(t)
	s, err := mailer.NewSMTPSender(srv.URL(), "Bulwark <bulwark@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	link := "https://bulwark.example.com/password/reset?token=" + strings.Repeat("Ab_-", 11)
	err = s.Send(context.Background(), mailer.Message{To: "ann@example.com", Subject: "Reset your password", Body: "Follow:\n\n" + link + "\n"})
	if err != nil {
		t.Fatal(err)
	}
	m := srv.Wait(t, "ann@example.com", 0)
	if m.From != "bulwark@example.com" || m.Subject != "Reset your password" || !strings.Contains(m.Body, link) {
		t.Errorf("got from %q subject %q body %q", m.From, m.Subject, m.Body)
	}
}

// Without STARTTLS a server that is not on loopback must not get the
// message (nor the password in SMTP_URL): the test server offers no TLS.
// Remove the TLSMandatory case in SMTPSender.Send to see this fail.
func TestSMTPSenderRequiresTLSOffLoopback(t *testing.T) {
	srv := testenv.SMTPAt(t, testenv.LocalAddr(t))
	c, err := mailer.ParseSMTPURL(srv.URL())
	if err != nil || c.StartTLSOptional || c.ImplicitTLS {
		t.Fatalf("remote: %+v %v", c, err)
	}
	s, err := mailer.NewSMTPSender(srv.URL(), "bulwark@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = s.Send(ctx, mailer.Message{To: "ann@example.com", Subject: "x", Body: "y"})
	if err == nil {
		t.Fatal("sent without TLS to a server that is not on loopback")
	}
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("refused for another reason: %v", err)
	}
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("%d mails arrived", n)
	}
	if c, _ := mailer.ParseSMTPURL("smtp://user:pw@[::1]:2525"); !c.StartTLSOptional {
		t.Error("loopback needs TLS")
	}
}

func TestParseSMTPURL(t *testing.T) {
	c, err := mailer.ParseSMTPURL("smtps://us%40er:p%3Ass@mail.example.com")
	if err != nil || c.Username != "us@er" || c.Password != "p:ss" || c.Port != 465 || !c.ImplicitTLS || c.Addr() != "mail.example.com:465" {
		t.Errorf("got %+v %v", c, err)
	}
	for _, bad := range []string{"", "mail.example.com", "http://h", "smtp://", "smtp://h:0", "smtp://h:99999", "smtp://h/x", "smtp://h?x=1", "smtp://:pw@h", "smtp://h#f"} {
		if _, err := mailer.ParseSMTPURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	_, err = mailer.ParseSMTPURL("ftp://user:SECRETPW@h")
	if err == nil || strings.Contains(err.Error(), "SECRETPW") {
		t.Errorf("error %v", err)
	}
}

func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []string{"smtp://u:p@h:587", "smtps://h", "smtp://[::1]:25", "smtp://h:0", "smtp://%zz@h", "smtp://u:p@h/"} {
		f.Add(s)
	}
	// The error must not quote the URL, which may hold the password. Every
	// refusal gives the same text: "contains the input" misfired on short
	// inputs such as "a" (testdata/fuzz/FuzzParseSMTPURL).
	_, refused := mailer.ParseSMTPURL("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := mailer.ParseSMTPURL(s)
		if err != nil {
			if err.Error() != refused.Error() {
				t.Fatalf("ParseSMTPURL(%q): error %q depends on the input", s, err)
			}
			return
		}
		if c.Host == "" || c.Port <= 0 || c.Port > 65535 || (c.ImplicitTLS && c.StartTLSOptional) {
			t.Fatalf("ParseSMTPURL(%q) = %+v", s, c)
		}
	})
}

// Messages with a header-injection attempt are refused before dialing.
func TestMessageChecked(t *testing.T) {
	q := mailer.NewQueue(mailer.LogSender{Log: slog.New(slog.DiscardHandler)}, mailer.QueueOptions{})
	defer q.Close(context.Background())
	for _, m := range []mailer.Message{
		{To: "a@example.com\r\nBcc: b@example.com", Subject: "s"},
		{To: "Ann <a@example.com>", Subject: "s"},
		{To: "a@example.com", Subject: "s\r\nBcc: b@example.com"},
	} {
		if err := q.Enqueue(m); err == nil {
			t.Errorf("%q accepted", m)
		}
	}
}

type flaky struct {
	mu    sync.Mutex
	fails int
	calls int
	sent  []mailer.Message
}

func (f *flaky) Send(_ context.Context, m mailer.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.fails {
		return errors.New("temporary failure")
	}
	f.sent = append(f.sent, m)
	return nil
}

// A server refusing twice (451) still gets the mail: the queue retries with
// backoff, through a real SMTP conversation.
func TestQueueRetries(t *testing.T) {
	srv := testenv.SMTP(t)
	srv.Refuse(2)
	s, err := mailer.NewSMTPSender(srv.URL(), "bulwark@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	q := mailer.NewQueue(s, mailer.QueueOptions{Backoff: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := q.Enqueue(mailer.Message{To: "ann@example.com", Subject: "Hello", Body: "secret-link-token"}); err != nil {
		t.Fatal(err)
	}
	srv.Wait(t, "ann@example.com", 0)
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "will retry") || strings.Contains(logs.String(), "secret-link-token") {
		t.Errorf("logs: %s", logs.String())
	}
}

// Enqueue never blocks: a full queue drops, and a failure after every
// attempt is logged without the body.
func TestQueueBoundedAndGivesUp(t *testing.T) {
	block := make(chan struct{})
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	q := mailer.NewQueue(senderFunc(func(ctx context.Context, m mailer.Message) error {
		<-block
		return errors.New("down")
	}), mailer.QueueOptions{Size: 2, Attempts: 2, Backoff: time.Millisecond, Log: log})
	m := mailer.Message{To: "a@example.com", Subject: "s", Body: "token-in-body"}
	start := time.Now()
	var full int
	for range 10 {
		if errors.Is(q.Enqueue(m), mailer.ErrQueueFull) {
			full++
		}
	}
	if time.Since(start) > time.Second || full < 7 {
		t.Errorf("enqueue: %d full after %v", full, time.Since(start))
	}
	close(block)
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(q.Enqueue(m), mailer.ErrClosed) {
		t.Error("enqueue after close")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "giving up") || strings.Contains(logs.String(), "token-in-body") {
		t.Errorf("logs: %s", logs.String())
	}
}

// Close drains what is queued.
func TestQueueCloseDrains(t *testing.T) {
	f := &flaky{fails: 1}
	q := mailer.NewQueue(f, mailer.QueueOptions{Backoff: time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	for i := range 5 {
		q.Enqueue(mailer.Message{To: "a@example.com", Subject: strings.Repeat("x", i+1)})
	}
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(f.sent) != 5 {
		t.Errorf("%d of 5 sent", len(f.sent))
	}
}

type senderFunc func(context.Context, mailer.Message) error

func (f senderFunc) Send(ctx context.Context, m mailer.Message) error { return f(ctx, m) }

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
