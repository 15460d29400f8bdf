package pages

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzParseMailToken: the parser of the token in /verify-email?token=
// accepts exactly the texts newMailToken writes.
func FuzzParseMailToken(f *testing.F) {
	good, _ := newMailToken()
	for _, s := range []string{good, good + "=", good[:42], strings.Repeat("A", 43), strings.Repeat("_", 43), "", "%00", good[:42] + "B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := parseMailToken(s)
		if !ok {
			return
		}
		if len(s) != 43 || len(h) != sha256.Size {
			t.Fatalf("parseMailToken(%q) accepted: %x", s, h)
		}
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || base64.RawURLEncoding.EncodeToString(raw) != s {
			t.Fatalf("parseMailToken(%q) accepted a non-canonical text", s)
		}
		if sum := sha256.Sum256(raw); !bytes.Equal(sum[:], h) {
			t.Fatalf("parseMailToken(%q): wrong hash", s)
		}
	})
}

// The reset cookie is accepted only as made, under one of the keys, and
// before its expiry. Remove the hmac.Equal check in parseResetCookie to see
// the forged case fail.
func TestResetCookie(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := &Pages{keys: [][]byte{[]byte("new-key"), []byte("old-key")}, now: func() time.Time { return now }}
	token := bytes.Repeat([]byte{7}, mailTokenLen)
	w := httptest.NewRecorder()
	p.setResetCookie(w, token)
	value := w.Result().Cookies()[0].Value
	want := sha256.Sum256(token)
	if h, ok := parseResetCookie(value, p.keys, now); !ok || !bytes.Equal(h, want[:]) {
		t.Fatal("own cookie refused")
	}
	if _, ok := parseResetCookie(value, [][]byte{[]byte("other")}, now); ok {
		t.Fatal("accepted under another key")
	}
	if _, ok := parseResetCookie(value, p.keys, now.Add(resetLifetime)); ok {
		t.Fatal("accepted after its lifetime")
	}
	b, _ := base64.RawURLEncoding.DecodeString(value)
	b[0] ^= 1 // another token, same MAC
	if _, ok := parseResetCookie(base64.RawURLEncoding.EncodeToString(b), p.keys, now); ok {
		t.Fatal("forged cookie accepted")
	}
}

func FuzzParseResetCookie(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	keys := [][]byte{[]byte("k")}
	p := &Pages{keys: keys, now: func() time.Time { return now }}
	w := httptest.NewRecorder()
	p.setResetCookie(w, bytes.Repeat([]byte{1}, mailTokenLen))
	f.Add(w.Result().Cookies()[0].Value)
	f.Add("")
	f.Add(strings.Repeat("A", 96))
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := parseResetCookie(s, keys, now)
		if ok && len(h) != sha256.Size {
			t.Fatalf("parseResetCookie(%q) = %x", s, h)
		}
	})
}
