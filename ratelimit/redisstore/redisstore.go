// Package redisstore keeps the budgets of package ratelimit in Redis, shared
// by every instance of a service.
//
//	store := redisstore.New(redisClient, "myapp:rl:")
//	lim, err := ratelimit.New(ratelimit.Options{Store: store, Limits: limits})
//
// It is a package of its own so that programs using only the memory store
// do not link go-redis.
package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/redis/go-redis/v9"
)

//go:embed gcra.lua
var gcraLua string

// Store is a ratelimit.Store in Redis.
//
// Each Allow is one round trip, whatever the number of limits: a Lua script
// (EVALSHA) reads the server's clock (TIME), computes GCRA for every limit,
// and writes all of them or none, with an expiry on each key for when the
// limit will have recovered. Redis runs a script alone, so concurrent
// requests from many instances cannot both take the last unit, as they can
// with a read followed by a write; and no instance's clock matters. Refunds
// (a negative cost) run in the same script, so a refund and a charge racing
// for one key are applied one after the other, never half of each.
//
// After a Redis restart (or SCRIPT FLUSH) the first call pays a second round
// trip to load the script again.
//
// Keys are prefix + "{" + key + "}:" + the limit, so all the limits of one
// key hash to the same Redis Cluster slot, as a multi-key script requires.
type Store struct {
	c      redis.UniversalClient
	prefix string
	script *redis.Script
}

// New returns a store using c, with every key starting with prefix (e.g.
// "bulwark:rl:").
func New(c redis.UniversalClient, prefix string) *Store {
	return &Store{c: c, prefix: prefix, script: redis.NewScript(gcraLua)}
}

// Allow implements ratelimit.Store.
func (s *Store) Allow(ctx context.Context, key string, limits []ratelimit.Limit, cost int) (ratelimit.Decision, error) {
	for _, l := range limits {
		if err := l.Validate(); err != nil {
			return ratelimit.Decision{}, err
		}
	}
	if len(limits) == 0 {
		return ratelimit.Decision{Allowed: true, Results: []ratelimit.Result{}}, nil
	}
	keys := make([]string, len(limits))
	args := make([]any, 1, 1+2*len(limits))
	args[0] = cost
	for i, l := range limits {
		keys[i] = s.prefix + "{" + key + "}:" + strconv.Itoa(l.Count) + "/" + l.Period.String()
		args = append(args, l.Count, l.Period.Microseconds())
	}
	reply, err := s.script.Run(ctx, s.c, keys, args...).Int64Slice()
	if err != nil {
		return ratelimit.Decision{}, fmt.Errorf("redisstore: %w", err)
	}
	if len(reply) != 2+2*len(limits) {
		return ratelimit.Decision{}, fmt.Errorf("redisstore: script returned %d values, want %d", len(reply), 2+2*len(limits))
	}
	d := ratelimit.Decision{
		Allowed:    reply[0] == 1,
		RetryAfter: time.Duration(reply[1]) * time.Microsecond,
		Results:    make([]ratelimit.Result, len(limits)),
	}
	for i, l := range limits {
		d.Results[i] = ratelimit.Result{
			Limit:      l,
			Remaining:  int(reply[2+2*i]),
			ResetAfter: time.Duration(reply[3+2*i]) * time.Microsecond,
		}
	}
	return d, nil
}
