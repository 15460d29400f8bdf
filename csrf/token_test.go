package csrf

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzVerify checks the token decoder against a plain reference: never a
// panic, and a token is accepted exactly when it is 64 bytes of strict
// base64url whose halves XOR to the secret.
func FuzzVerify(f *testing.F) {
	secret := bytes.Repeat([]byte{0x5a}, secretLen)
	valid := maskToken(secret)
	for _, seed := range []string{
		valid, "", "A", valid + "=", valid[:len(valid)-1], valid + "A",
		strings.Repeat("A", tokenLen), strings.Repeat("_", tokenLen), strings.Repeat("é", tokenLen/2),
		strings.ReplaceAll(valid, "-", "+"), maskToken(make([]byte, secretLen)),
		base64.RawURLEncoding.EncodeToString(secret), strings.Repeat("\x00", tokenLen),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		got := verify(secret, token)
		want := false
		if raw, err := base64.RawURLEncoding.Strict().DecodeString(token); err == nil && len(raw) == 2*secretLen {
			unmasked := make([]byte, secretLen)
			subtle.XORBytes(unmasked, raw[:secretLen], raw[secretLen:])
			want = bytes.Equal(unmasked, secret)
		}
		if got != want {
			t.Fatalf("verify(%q) = %v, want %v", token, got, want)
		}
	})
}

func TestVerifyRejectsWrongSecretLength(t *testing.T) {
	secret := bytes.Repeat([]byte{1}, secretLen)
	tok := maskToken(secret)
	for _, s := range [][]byte{nil, {}, secret[:16], append(bytes.Clone(secret), 0)} {
		if verify(s, tok) {
			t.Errorf("verify with a %d-byte secret accepted", len(s))
		}
	}
	if !verify(secret, tok) {
		t.Error("valid token refused")
	}
}

func BenchmarkToken(b *testing.B) {
	secret := bytes.Repeat([]byte{1}, secretLen)
	b.ReportAllocs()
	for b.Loop() {
		_ = maskToken(secret)
	}
}

func BenchmarkVerify(b *testing.B) {
	secret := bytes.Repeat([]byte{1}, secretLen)
	tok := maskToken(secret)
	b.ReportAllocs()
	for b.Loop() {
		if !verify(secret, tok) {
			b.Fatal("refused")
		}
	}
}

// FuzzDecodeCookie checks the cookie decoder against a plain reference:
// never a panic, and a value is accepted exactly when it is strict
// base64url of a secret followed by its HMAC under one of the keys.
func FuzzDecodeCookie(f *testing.F) {
	p := &Protection{keys: [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)}}
	secret := bytes.Repeat([]byte{0x5a}, secretLen)
	valid := p.encodeCookie(secret)
	old := (&Protection{keys: p.keys[1:]}).encodeCookie(secret)
	for _, seed := range []string{valid, old, "", valid[:len(valid)-1], valid + "A", strings.Repeat("A", cookieLen),
		base64.RawURLEncoding.EncodeToString(secret), strings.Repeat("é", cookieLen/2)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, current := p.decodeCookie(v)
		var want []byte
		wantCurrent := false
		if raw, err := base64.RawURLEncoding.Strict().DecodeString(v); err == nil && len(raw) == secretLen+32 {
			for i, k := range p.keys {
				if bytes.Equal(raw[secretLen:], p.mac(k, raw[:secretLen])) {
					want, wantCurrent = raw[:secretLen], i == 0
					break
				}
			}
		}
		if !bytes.Equal(got, want) || current != wantCurrent {
			t.Fatalf("decodeCookie(%q) = %x, %v; want %x, %v", v, got, current, want, wantCurrent)
		}
	})
}
