package csrf

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"slices"
	"strings"
)

// The CSRF cookie holds base64url(secret || HMAC-SHA256(key, cookieLabel ||
// secret)). The label keeps these MACs apart from anything else the
// application computes with the same key (it is typically SECRET_KEY).
const cookieLabel = "bulwark csrf cookie v1\x00"

var cookieLen = tokenEncoding.EncodedLen(secretLen + sha256.Size)

func (p *Protection) mac(key, secret []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(cookieLabel))
	h.Write(secret)
	return h.Sum(nil)
}

// encodeCookie signs secret with the current key.
func (p *Protection) encodeCookie(secret []byte) string {
	buf := make([]byte, 0, secretLen+sha256.Size)
	buf = append(buf, secret...)
	buf = append(buf, p.mac(p.keys[0], secret)...)
	return tokenEncoding.EncodeToString(buf)
}

// decodeCookie returns the secret of a cookie value whose MAC one of the
// keys verifies (compared in constant time), and whether that key is the
// current one. It reads outside input: anything but exactly cookieLen
// base64url characters is refused before decoding.
func (p *Protection) decodeCookie(v string) (secret []byte, current bool) {
	if len(v) != cookieLen {
		return nil, false
	}
	raw, err := tokenEncoding.DecodeString(v)
	if err != nil || len(raw) != secretLen+sha256.Size {
		return nil, false
	}
	secret, sum := raw[:secretLen], raw[secretLen:]
	for i, key := range p.keys {
		if hmac.Equal(sum, p.mac(key, secret)) {
			return secret, i == 0
		}
	}
	return nil, false
}

// cookieSecret returns the secret of r's CSRF cookie, or of the cookie this
// response sets, or nil. It never creates one: a check must not mint the
// secret it is checked against.
func (st *state) cookieSecret(r *http.Request) []byte {
	if !st.cookieRead {
		st.cookieRead = true
		// A browser may send several cookies of this name (one set for a
		// narrower path by a sibling site without __Host-): the first
		// that verifies is the secret, for issuing and checking alike.
		for _, c := range r.CookiesNamed(st.p.cookieName) {
			if s, current := st.p.decodeCookie(c.Value); s != nil {
				st.cookie, st.signedNow = s, current
				break
			}
		}
	}
	return st.cookie
}

// issueCookieSecret returns the cookie secret, setting a new cookie when
// the request has none, and signing the old secret again when a fallback
// key verified it (so tokens already issued stay valid through rotation).
func (st *state) issueCookieSecret(r *http.Request) []byte {
	s := st.cookieSecret(r)
	switch {
	case s == nil:
		s = newSecret()
		st.setCookie(s)
	case !st.signedNow:
		st.setCookie(s)
	}
	return s
}

func (st *state) hasCookie(r *http.Request) bool {
	return st.cookie != nil || len(r.CookiesNamed(st.p.cookieName)) > 0
}

// setCookie makes secret the cookie secret of this response and later
// calls in it. The cookie lasts for the browser session: a secret for
// anonymous forms has no reason to outlive it.
func (st *state) setCookie(secret []byte) {
	st.cookie, st.signedNow, st.cookieRead = secret, true, true
	// #nosec G124 -- Secure follows Config (off only for plain-HTTP development); HttpOnly and SameSite are set
	st.writeCookie(&http.Cookie{
		Name: st.p.cookieName, Value: st.p.encodeCookie(secret), Path: "/",
		Secure: st.p.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func (st *state) deleteCookie() {
	st.cookie, st.signedNow, st.cookieRead = nil, false, true
	// #nosec G124 -- Secure follows Config (off only for plain-HTTP development); HttpOnly and SameSite are set
	st.writeCookie(&http.Cookie{
		Name: st.p.cookieName, Value: "", Path: "/", MaxAge: -1,
		Secure: st.p.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// writeCookie adds c to the response, replacing a cookie of the same name
// set earlier in it, so that the browser keeps the last decision.
func (st *state) writeCookie(c *http.Cookie) {
	h := st.w.Header()
	prefix := c.Name + "="
	var kept []string
	for _, v := range h.Values("Set-Cookie") {
		if !strings.HasPrefix(v, prefix) {
			kept = append(kept, v)
		}
	}
	h.Del("Set-Cookie")
	for _, v := range kept {
		h.Add("Set-Cookie", v)
	}
	h.Add("Set-Cookie", c.String())
	// The response carries a secret: no shared cache may keep it and hand
	// the same cookie to other browsers.
	if !slices.Contains(h.Values("Cache-Control"), "no-store") {
		h.Add("Cache-Control", "no-store")
	}
}
