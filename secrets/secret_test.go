package secrets

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const testKey = "28884f43cbca609746e2f75a64c3084b824bcd93bd230ba79de574a6987f76f9"

// TestSecretNeverPrinted is the attack "a config struct or a secret ends up
// in a log line or an API response". It fails if any printing path shows
// the bytes.
func TestSecretNeverPrinted(t *testing.T) {
	s := New([]byte(testKey))
	type exported struct {
		Name string
		Key  Secret
		Ptr  *Secret
		List []Secret
		Map  map[string]Secret
	}
	type unexported struct {
		key Secret
	}
	e := exported{Name: "n", Key: s, Ptr: &s, List: []Secret{s}, Map: map[string]Secret{"k": s}}
	u := unexported{key: s}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-10v", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, e), fmt.Sprintf(verb, &e), fmt.Sprintf(verb, u))
	}
	outs = append(outs, fmt.Sprint(s, e, u), fmt.Sprintln(s, e), s.String(), s.GoString())

	j, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	type xmlDoc struct{ Key Secret }
	x, err := xml.Marshal(xmlDoc{s})
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(x))
	txt, _ := s.MarshalText()
	outs = append(outs, string(txt))

	for _, h := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
	} {
		var buf bytes.Buffer
		l := slog.New(h(&buf))
		l.Info("m", "key", s, "cfg", e, "ptr", &e, "u", u, slog.Any("any", s))
		outs = append(outs, buf.String())
	}

	hexKey := fmt.Sprintf("%x", testKey)
	decKey := strings.Trim(fmt.Sprint([]byte(testKey[:6])), "[]") // how fmt prints a raw []byte field
	for _, out := range outs {
		if strings.Contains(out, testKey) || strings.Contains(out, testKey[:16]) ||
			strings.Contains(strings.ToLower(out), hexKey[:16]) || strings.Contains(out, decKey) {
			t.Errorf("secret printed: %s", out)
		}
	}
	if got := fmt.Sprintf("%v|%#v|%x", s, s, s); got != "[redacted]|[redacted]|[redacted]" {
		t.Errorf("got %q", got)
	}
}

func TestSecretCopies(t *testing.T) {
	in := []byte("abc")
	s := New(in)
	in[0] = 'X'
	if got := string(s.Reveal()); got != "abc" {
		t.Fatalf("New kept a reference to its input: %q", got)
	}
	out := s.Reveal()
	out[0] = 'Y'
	if got := string(s.Reveal()); got != "abc" {
		t.Fatalf("Reveal exposed the internal slice: %q", got)
	}
}

func TestSecretZeroAndEqual(t *testing.T) {
	var z Secret
	if !z.IsZero() || !New(nil).IsZero() || !New([]byte{}).IsZero() || z.Len() != 0 || z.Reveal() != nil {
		t.Error("zero Secret not zero")
	}
	if New([]byte("a")).IsZero() {
		t.Error("non-empty Secret reported zero")
	}
	if !New([]byte("abc")).Equal(New([]byte("abc"))) || New([]byte("abc")).Equal(New([]byte("abd"))) ||
		New([]byte("abc")).Equal(z) || !z.Equal(New(nil)) {
		t.Error("Equal wrong")
	}
	if z.String() != "[redacted]" {
		t.Error("zero Secret must print like any other")
	}
}

func BenchmarkReveal(b *testing.B) {
	s := New([]byte(testKey))
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Reveal()
	}
}
