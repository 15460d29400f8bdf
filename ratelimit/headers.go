package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WriteHeaders sets the RateLimit-Policy and RateLimit fields of the IETF
// httpapi draft (draft-ietf-httpapi-ratelimit-headers, structured fields)
// for the policy name and decision d, and Retry-After when d refused the
// request:
//
//	RateLimit-Policy: "default";q=100;w=60
//	RateLimit: "default";r=42;t=17
//
// RateLimit-Policy has one item per limit. With several limits each item is
// named after the policy and its window ("default-60s", "default-3600s"), as
// the draft wants names to tell policies apart. RateLimit reports the
// tightest limit: the one with the fewest requests remaining (of those, the
// one slowest to recover). t is the number of seconds until that limit has
// fully recovered, r the requests it would admit now. Retry-After is
// RetryAfterSeconds(d.RetryAfter).
func WriteHeaders(h http.Header, name string, d Decision) {
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(RetryAfterSeconds(d.RetryAfter)))
	}
	if len(d.Results) == 0 {
		return
	}
	names := policyNames(name, d.Results)
	var b strings.Builder
	for i, res := range d.Results {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(names[i])
		b.WriteString(";q=")
		b.WriteString(strconv.Itoa(res.Limit.Count))
		b.WriteString(";w=")
		b.WriteString(strconv.FormatInt(seconds(res.Limit.Period), 10))
	}
	h.Set("RateLimit-Policy", b.String())

	tight := 0
	for i, res := range d.Results {
		t := d.Results[tight]
		if res.Remaining < t.Remaining || res.Remaining == t.Remaining && res.ResetAfter > t.ResetAfter {
			tight = i
		}
	}
	res := d.Results[tight]
	h.Set("RateLimit", names[tight]+";r="+strconv.Itoa(res.Remaining)+";t="+strconv.FormatInt(seconds(res.ResetAfter), 10))
}

// policyNames returns each limit's item name as a structured-field string.
func policyNames(name string, results []Result) []string {
	names := make([]string, len(results))
	if len(results) == 1 {
		names[0] = sfString(name)
		return names
	}
	seen := make(map[string]bool, len(results))
	for i, res := range results {
		n := name + "-" + strconv.FormatInt(seconds(res.Limit.Period), 10) + "s"
		if seen[n] { // two limits with one window: keep the names apart
			n += "-" + strconv.Itoa(i+1)
		}
		seen[n] = true
		names[i] = sfString(n)
	}
	return names
}

// sfString quotes s as an RFC 8941 string: printable ASCII, with '"' and '\'
// escaped; anything else becomes '?'.
func sfString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// seconds rounds d up to whole seconds, so that a client waiting that long is
// never early.
func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()))
}

// RetryAfterSeconds is the value of a Retry-After header for a wait of d:
// whole seconds, rounded up so a client that waits that long is never early,
// and at least 1 so a client never retries at once. WriteHeaders uses it;
// an application writing its own Retry-After or message should too, so the
// two always agree.
func RetryAfterSeconds(d time.Duration) int {
	return int(min(max(seconds(d), 1), math.MaxInt32))
}
