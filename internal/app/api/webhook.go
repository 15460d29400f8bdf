package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/webhook"
)

// WebhookVerifier checks a signed webhook request and returns its body
// (a *webhook.Verifier).
type WebhookVerifier interface {
	Verify(ctx context.Context, r *http.Request) ([]byte, error)
}

// receiveWebhook stores a delivery whose signature is good and new. The
// route has no key: the signature is its authentication, and it is off
// (404) without WEBHOOK_SECRET.
func (a *API) receiveWebhook(w http.ResponseWriter, r *http.Request) error {
	if a.webhook == nil {
		return web.NotFound("No such API endpoint.")
	}
	body, err := a.webhook.Verify(r.Context(), r)
	if err != nil {
		status := webhook.Status(err)
		if status == http.StatusServiceUnavailable {
			return web.Unavailable("webhook replay store", err) // fail closed
		}
		msg := map[int]string{
			http.StatusBadRequest:            "The body could not be read.",
			http.StatusUnauthorized:          "The signature is missing, malformed, wrong or outside the 5-minute window.",
			http.StatusConflict:              "This delivery was received before.",
			http.StatusRequestEntityTooLarge: "The body is over 1 MiB.",
		}[status]
		if msg == "" {
			return err
		}
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Signature realm="webhook", header="X-Bulwark-Signature"`)
		}
		return &web.Error{Status: status, Msg: msg, Err: err}
	}
	if _, err := a.db.RecordWebhookEvent(r.Context(), body); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type webhookEvent struct {
	ID         int64     `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	Body       string    `json:"body"`
	Encoding   string    `json:"body_encoding,omitempty"`
}

// webhookEvents lists the deliveries received, for administrators' keys.
func (a *API) webhookEvents(w http.ResponseWriter, r *http.Request) error {
	if !keyOf(r).Admin {
		return web.Forbidden("Only an administrator's key can list webhook events.", nil)
	}
	events, err := a.db.WebhookEvents(r.Context(), 100)
	if err != nil {
		return err
	}
	out := struct {
		Events []webhookEvent `json:"events"`
	}{Events: []webhookEvent{}}
	for _, e := range events {
		ev := webhookEvent{ID: e.ID, ReceivedAt: e.ReceivedAt, Body: string(e.Body)}
		if !utf8.Valid(e.Body) {
			ev.Body, ev.Encoding = base64.StdEncoding.EncodeToString(e.Body), "base64"
		}
		out.Events = append(out.Events, ev)
	}
	return writeJSON(w, http.StatusOK, out)
}
