package pages

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkhq/bulwark/internal/store"
)

// The device cookie vouches only for the account it was issued for, only
// when its MAC is right, and still after SECRET_KEY is rotated with the old
// key in SECRET_KEY_FALLBACKS.
func TestDeviceCookie(t *testing.T) {
	oldKey := []byte("0123456789abcdef0123456789abcdef-old")
	newKey := []byte("0123456789abcdef0123456789abcdef-new")
	issuer := &Pages{keys: [][]byte{oldKey}}
	rec := httptest.NewRecorder()
	issuer.setDeviceCookie(rec, 7)
	cookie := rec.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.MaxAge <= 0 {
		t.Fatalf("device cookie attributes: %+v", cookie)
	}
	req := func(c *http.Cookie) *http.Request {
		r := httptest.NewRequest("POST", "/login", nil)
		r.AddCookie(c)
		return r
	}
	rotated := &Pages{keys: [][]byte{newKey, oldKey}}
	if !rotated.trustedDevice(req(cookie), &store.User{ID: 7}) {
		t.Error("a device cookie signed with a fallback key is not trusted")
	}
	if (&Pages{keys: [][]byte{newKey}}).trustedDevice(req(cookie), &store.User{ID: 7}) {
		t.Error("a device cookie signed with a retired key is trusted")
	}
	if rotated.trustedDevice(req(cookie), &store.User{ID: 8}) {
		t.Error("a device cookie vouches for another account")
	}
	forged := *cookie
	b, _ := base64.RawURLEncoding.DecodeString(forged.Value)
	b[len(b)-1] ^= 1 // the MAC's last byte
	forged.Value = base64.RawURLEncoding.EncodeToString(b)
	if rotated.trustedDevice(req(&forged), &store.User{ID: 7}) {
		t.Error("a device cookie with a changed last byte is trusted")
	}
	if rotated.trustedDevice(req(cookie), nil) {
		t.Error("a device cookie vouches for an unknown email")
	}
}
