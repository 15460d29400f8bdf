package app

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkhq/bulwark/internal/app/api"
	"github.com/bulwarkhq/bulwark/webhook"
)

// webhookVerifier checks POST /api/webhook with WEBHOOK_SECRET and its
// fallbacks; nil (the route answers 404) when no secret is set. Signatures
// already accepted are kept where every instance sees them: Redis when it
// is configured, the database otherwise.
func (d *Deps) webhookVerifier() (api.WebhookVerifier, error) {
	cfg := d.Config
	if cfg.WebhookSecret.IsZero() {
		return nil, nil
	}
	secrets := [][]byte{cfg.WebhookSecret.Reveal()}
	for _, s := range cfg.WebhookSecretFallbacks {
		secrets = append(secrets, s.Reveal())
	}
	var replay webhook.ReplayStore = d.DB
	if d.Redis != nil {
		replay = redisReplay{d.Redis}
	}
	v, err := webhook.New(webhook.Options{Secrets: secrets, Replay: replay})
	if err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	return v, nil
}

// redisReplay keeps accepted webhook signatures in Redis until they expire:
// one SET NX, so two instances cannot both accept one delivery.
type redisReplay struct{ c *redis.Client }

func (s redisReplay) Claim(ctx context.Context, id string, expiry time.Time) (bool, error) {
	ttl := time.Until(expiry)
	if ttl < time.Second {
		ttl = time.Second
	}
	return s.c.SetNX(ctx, "bulwark:webhook:"+id, 1, ttl).Result()
}
