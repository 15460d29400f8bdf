package mailer_test

import (
	"context"
	"log"
	"log/slog"
	"os"

	"github.com/bulwarkhq/bulwark/mailer"
)

func Example() {
	var sender mailer.Sender
	if url := os.Getenv("SMTP_URL"); url != "" {
		s, err := mailer.NewSMTPSender(url, "Example <no-reply@example.com>")
		if err != nil {
			log.Fatal(err)
		}
		sender = s
	} else {
		// Development: the mail, link included, goes to the log.
		sender = mailer.LogSender{Log: slog.Default()}
	}
	q := mailer.NewQueue(sender, mailer.QueueOptions{})
	defer q.Close(context.Background()) // on shutdown: deliver what is queued

	// In a handler: returns at once; a slow server never holds the request.
	if err := q.Enqueue(mailer.Message{
		To:      "ann@example.com",
		Subject: "Confirm your email address",
		Body:    "Follow this link to confirm it:\n\nhttps://example.com/verify-email?token=…\n",
	}); err != nil {
		log.Print(err) // full or closed: the user still sees the same page
	}
}
