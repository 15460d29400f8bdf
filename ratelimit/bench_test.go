package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
)

func BenchmarkMemoryStoreAllow(b *testing.B) {
	s := NewMemoryStore(MemoryOptions{})
	limits := mustParse(b, "1000000 per second; 100000000 per hour")
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "ip:192.0.2." + strconv.Itoa(i)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := int(next.Add(1)) * 7919
		for pb.Next() {
			i++
			if _, err := s.Allow(ctx, keys[i%len(keys)], limits, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}
