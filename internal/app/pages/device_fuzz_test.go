package pages

import (
	"bytes"
	"encoding/base64"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkhq/bulwark/internal/store"
)

// FuzzTrustedDevice: any cookie value is handled without a panic, and one
// that is trusted is canonical base64url, trusted for its own user only, and
// no longer trusted once any byte of it changes. The cookie decides whether
// a sign-in from an unknown browser is reported to the user, so a forged or
// bent one would hide an intruder. (Seeds are minted with random nonces, so
// the check cannot be "one of the seeds": fuzz workers mint their own.)
func FuzzTrustedDevice(f *testing.F) {
	keys := [][]byte{[]byte("current key"), []byte("fallback key")}
	p := &Pages{keys: keys}
	u, other := &store.User{ID: 7}, &store.User{ID: 8}
	for _, k := range keys {
		mint := &Pages{keys: [][]byte{k}}
		w := httptest.NewRecorder()
		mint.setDeviceCookie(w, u.ID)
		v := w.Result().Cookies()[0].Value
		f.Add(v)
		f.Add(v[:len(v)-1] + "A")
	}
	w := httptest.NewRecorder()
	p.setDeviceCookie(w, 8) // another user's cookie
	f.Add(w.Result().Cookies()[0].Value)
	f.Add("")
	f.Add("not base64!")
	f.Add("AAAAAAAAAAcAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	trusted := func(value string, u *store.User) bool {
		r := httptest.NewRequest("GET", "/login", nil)
		r.Header.Set("Cookie", p.deviceCookieName()+"="+value)
		return p.trustedDevice(r, u)
	}
	f.Fuzz(func(t *testing.T, value string) {
		if !trusted(value, u) {
			return
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(value)
		if err != nil || base64.RawURLEncoding.EncodeToString(b) != value {
			t.Fatalf("non-canonical device cookie %q trusted", value)
		}
		if trusted(value, other) {
			t.Fatalf("device cookie %q trusted for users %d and %d", value, u.ID, other.ID)
		}
		for i := range b {
			bent := bytes.Clone(b)
			bent[i] ^= 0x01
			if v := base64.RawURLEncoding.EncodeToString(bent); trusted(v, u) {
				t.Fatalf("device cookie %q trusted, and so is %q", value, v)
			}
		}
	})
}
