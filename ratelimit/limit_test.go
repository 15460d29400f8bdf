package ratelimit

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		in   string
		want []Limit
	}{
		{"5 per minute", []Limit{{5, time.Minute}}},
		{"5/minute", []Limit{{5, time.Minute}}},
		{"5 / minute", []Limit{{5, time.Minute}}},
		{"200 per day; 50 per hour", []Limit{{200, day}, {50, time.Hour}}},
		{"100 per minute, 2000 per hour", []Limit{{100, time.Minute}, {2000, time.Hour}}},
		{"1/second|2/minute", []Limit{{1, time.Second}, {2, time.Minute}}},
		{"10 per 30 seconds", []Limit{{10, 30 * time.Second}}},
		{"10/30seconds", []Limit{{10, 30 * time.Second}}},
		{"10 per 2minutes", []Limit{{10, 2 * time.Minute}}},
		{"3 PER Hours", []Limit{{3, time.Hour}}},
		{"1 per month", []Limit{{1, 30 * day}}},
		{"1 per year", []Limit{{1, 360 * day}}},
		{"12 per 12 months", []Limit{{12, 360 * day}}},
		{" 5 per minute ;; ", []Limit{{5, time.Minute}}},
		{"1000000000 per second", []Limit{{1_000_000_000, time.Second}}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, in := range []string{
		"", " ; ", "5", "5 minute", "per minute", "five per minute",
		"0 per minute", "-5 per minute", "+5 per minute", "5.5 per minute",
		"1000000001 per second", "99999999999999999999 per second",
		"5 per fortnight", "5 per 0 minutes", "5 per -1 minutes", "5 per 1 2 minutes",
		"5 per minutes minutes", "5 per 2 years", "5 per 13 months", "5 per 367 days",
		"5 per secondss", "5/", "/minute", "5 per minute; bogus",
		strings.Repeat("1/second;", 200),
	} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
}

func TestLimitString(t *testing.T) {
	tests := []struct {
		l    Limit
		want string
	}{
		{Limit{5, time.Minute}, "5 per minute"},
		{Limit{10, 30 * time.Second}, "10 per 30 seconds"},
		{Limit{2, 2 * time.Hour}, "2 per 2 hours"},
		{Limit{1, 360 * 24 * time.Hour}, "1 per year"},
		{Limit{1, 1500 * time.Millisecond}, "1 per 1.5s"},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.l, got, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics, that what it accepts is within
// its bounds, and that each limit it returns reads back as itself.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"100 per minute; 2000 per hour", "5/minute", "10 per 30 seconds", "10/30seconds",
		"1/second|2/minute", "3 PER Hours", "1 per year", "5 per 0 minutes", "+5/minute",
		"1000000000 per second", "5 per 99999999999 days", ";;,|", "5 per\tminute",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		limits, err := Parse(s)
		if err != nil {
			if limits != nil {
				t.Fatalf("Parse(%q) returned limits with an error", s)
			}
			return
		}
		if len(limits) == 0 {
			t.Fatalf("Parse(%q) returned no limits and no error", s)
		}
		for _, l := range limits {
			if l.Count < 1 || l.Count > maxCount || l.Period < time.Second || l.Period > maxPeriod {
				t.Fatalf("Parse(%q) returned out-of-bounds %#v", s, l)
			}
			if err := l.Validate(); err != nil {
				t.Fatalf("Parse(%q) returned %#v, which stores refuse: %v", s, l, err)
			}
			back, err := Parse(l.String())
			if err != nil || len(back) != 1 || back[0] != l {
				t.Fatalf("%#v.String() = %q reads back as %v, %v", l, l.String(), back, err)
			}
		}
	})
}
