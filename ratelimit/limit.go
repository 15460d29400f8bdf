package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit allows Count requests per Period. Under GCRA this means a burst of
// up to Count requests, refilled at one request every Period/Count.
type Limit struct {
	Count  int
	Period time.Duration
}

// String formats the limit the way Flask-Limiter writes it, e.g. "5 per minute"
// or "10 per 30 seconds".
func (l Limit) String() string {
	for _, u := range units {
		if l.Period == u.d {
			return fmt.Sprintf("%d per %s", l.Count, u.name)
		}
	}
	for _, u := range units {
		if l.Period%u.d == 0 && l.Period >= u.d {
			return fmt.Sprintf("%d per %d %ss", l.Count, l.Period/u.d, u.name)
		}
	}
	return fmt.Sprintf("%d per %s", l.Count, l.Period)
}

var units = []struct {
	name string
	d    time.Duration
}{
	// Flask-Limiter (the limits library) counts a month as 30 days and a year
	// as 12 such months; we do the same so a limit means what it meant there.
	{"year", 360 * 24 * time.Hour},
	{"month", 30 * 24 * time.Hour},
	{"day", 24 * time.Hour},
	{"hour", time.Hour},
	{"minute", time.Minute},
	{"second", time.Second},
}

// Bounds on what Parse accepts, so a configuration typo cannot ask for
// absurd state (a billion-request budget or a century-long window).
const (
	maxCount  = 1_000_000_000
	maxPeriod = 366 * 24 * time.Hour
	maxInput  = 1024
)

// Parse reads limits in Flask-Limiter's notation: one or more of
// "N per [M] unit" or "N/[M]unit", separated by ";", "," or "|". Units are
// second, minute, hour, day, month (30 days) and year (360 days), singular or
// plural, in any case. Empty parts between separators are ignored.
//
//	200 per day; 50 per hour
//	5/minute
//	10 per 30 seconds
//	10/30seconds
func Parse(s string) ([]Limit, error) {
	if len(s) > maxInput {
		return nil, errors.New("ratelimit: limit string is too long")
	}
	var limits []Limit
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == '|' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		l, err := parseOne(part)
		if err != nil {
			return nil, err
		}
		limits = append(limits, l)
	}
	if len(limits) == 0 {
		return nil, errors.New(`ratelimit: no limit given; want e.g. "100 per minute; 2000 per hour"`)
	}
	return limits, nil
}

// MustParse is Parse for limits written into the program, such as a
// constant: it panics if s does not parse, like regexp.MustCompile, so that
// a typo stops the program at start-up. Use Parse for configuration.
func MustParse(s string) []Limit {
	limits, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return limits
}

func parseOne(s string) (Limit, error) {
	bad := func(why string) (Limit, error) {
		return Limit{}, fmt.Errorf(`ratelimit: %q: %s; want "N per [M] second|minute|hour|day|month|year" or "N/unit"`, s, why)
	}
	var countText, rest string
	if i := strings.IndexByte(s, '/'); i >= 0 {
		countText, rest = s[:i], s[i+1:]
	} else {
		f := strings.Fields(s)
		if len(f) < 3 || !strings.EqualFold(f[1], "per") {
			return bad(`missing "per"`)
		}
		countText, rest = f[0], strings.Join(f[2:], " ")
	}
	count, ok := number(strings.TrimSpace(countText), maxCount)
	if !ok {
		return bad("the count must be a whole number from 1 to 1000000000")
	}
	// The period: an optional multiple, then the unit, with or without a
	// space between them ("30 seconds", "30seconds").
	rest = strings.TrimSpace(rest)
	digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	multiple := 1
	if digits > 0 {
		if multiple, ok = number(rest[:digits], maxCount); !ok {
			return bad("the period multiple must be a whole number of at least 1")
		}
		rest = strings.TrimSpace(rest[digits:])
	}
	if rest == "" || strings.ContainsAny(rest, " \t") {
		return bad("cannot read the period")
	}
	unit := strings.ToLower(rest)
	for _, u := range units {
		if unit == u.name || unit == u.name+"s" {
			if time.Duration(multiple) > maxPeriod/u.d {
				return bad("the period is longer than a year")
			}
			return Limit{Count: count, Period: time.Duration(multiple) * u.d}, nil
		}
	}
	return bad(fmt.Sprintf("unknown unit %q", rest))
}

// number reads a whole number from 1 to hi written with ASCII digits only
// (no sign, no spaces).
func number(s string, hi int) (int, bool) {
	if s == "" || len(s) > 10 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > hi {
		return 0, false
	}
	return n, true
}
