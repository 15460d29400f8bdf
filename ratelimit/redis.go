package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed gcra.lua
var gcraLua string

// RedisStore keeps limits in Redis, shared by every instance of a service.
//
// Each Allow is one round trip, whatever the number of limits: a Lua script
// (EVALSHA) reads the server's clock (TIME), computes GCRA for every limit,
// and writes all of them or none, with an expiry on each key for when the
// limit will have recovered. Redis runs a script alone, so concurrent
// requests from many instances cannot both take the last unit, as they can
// with a read followed by a write; and no instance's clock matters.
//
// After a Redis restart (or SCRIPT FLUSH) the first call pays a second round
// trip to load the script again.
//
// Keys are prefix + "{" + key + "}:" + the limit, so all the limits of one
// key hash to the same Redis Cluster slot, as a multi-key script requires.
type RedisStore struct {
	c      redis.UniversalClient
	prefix string
	script *redis.Script
}

// NewRedisStore returns a store using c, with every key starting with prefix
// (e.g. "bulwark:rl:").
func NewRedisStore(c redis.UniversalClient, prefix string) *RedisStore {
	return &RedisStore{c: c, prefix: prefix, script: redis.NewScript(gcraLua)}
}

// Allow implements Store.
func (s *RedisStore) Allow(ctx context.Context, key string, limits []Limit, cost int) (Decision, error) {
	if err := check(limits, cost); err != nil {
		return Decision{}, err
	}
	if len(limits) == 0 {
		return Decision{Allowed: true, Results: []Result{}}, nil
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
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(reply) != 2+2*len(limits) {
		return Decision{}, fmt.Errorf("ratelimit: redis: script returned %d values, want %d", len(reply), 2+2*len(limits))
	}
	d := Decision{
		Allowed:    reply[0] == 1,
		RetryAfter: time.Duration(reply[1]) * time.Microsecond,
		Results:    make([]Result, len(limits)),
	}
	for i, l := range limits {
		d.Results[i] = Result{
			Limit:      l,
			Remaining:  int(reply[2+2*i]),
			ResetAfter: time.Duration(reply[3+2*i]) * time.Microsecond,
		}
	}
	return d, nil
}
