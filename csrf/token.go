package csrf

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
)

// secretLen is the size of the per-session secret: 256 random bits.
const secretLen = 32

// tokenEncoding writes tokens: URL-safe so they need no escaping in a
// header, a form or an HTML attribute; strict so each token has one form.
var tokenEncoding = base64.RawURLEncoding.Strict()

// tokenLen is the length of every valid token: base64 of mask || masked.
var tokenLen = tokenEncoding.EncodedLen(2 * secretLen)

// Token returns a token for r, to put in a form or a page for fetch to send
// back in a header. Each call returns a different string (the secret masked
// with fresh random bytes, so a compressed response never repeats it:
// BREACH), and every one of them verifies until the secret changes.
//
// The first call for a session creates the secret and saves it with
// Store.Put; for a request that uses the cookie (Options.UseCookie), it
// sets the signed cookie on the response instead and writes nothing on the
// server. Either must reach the browser, so call Token before the response
// body is written. Outside Protection.Handler, Token returns "" and the
// form it goes into will be refused.
func Token(r *http.Request) string {
	st := stateOf(r)
	if st == nil {
		return ""
	}
	if st.p.usesCookie(r) {
		return maskToken(st.issueCookieSecret(r))
	}
	return maskToken(st.p.sessionSecret(r.Context()))
}

// TemplateField returns the hidden form field holding a fresh Token, for
// html/template:
//
//	<form method="post">{{.CSRFField}} … </form>
func TemplateField(r *http.Request) template.HTML {
	name := "csrf_token"
	if st := stateOf(r); st != nil {
		name = st.p.fieldName
	}
	// The name is configuration and the token is base64url, but escape
	// the name anyway: this is the one place we build HTML by hand.
	// #nosec G203 -- name is escaped and the token is base64url
	return template.HTML(`<input type="hidden" name="` + template.HTMLEscapeString(name) +
		`" value="` + Token(r) + `">`)
}

// Rotate gives r a new secret, so that tokens issued before stop working.
// Call it whenever the session's token is renewed (sign-in, password
// change, sign-out); session.Config.OnRenew is the place. A request that
// now uses the session gets a new session secret, and its CSRF cookie, if
// any, is deleted; one that uses the cookie gets a new cookie. Outside
// Protection.Handler it does nothing.
func Rotate(r *http.Request) {
	st := stateOf(r)
	if st == nil {
		return
	}
	if st.p.usesCookie(r) {
		st.setCookie(newSecret())
		return
	}
	st.p.store.Put(r.Context(), newSecret())
	if st.hasCookie(r) {
		st.deleteCookie()
	}
}

// sessionSecret returns the session's secret, creating and storing one if
// the session has none (or holds something that is not a secret).
func (p *Protection) sessionSecret(ctx context.Context) []byte {
	if s := p.store.Get(ctx); len(s) == secretLen {
		return s
	}
	s := newSecret()
	p.store.Put(ctx, s)
	return s
}

func newSecret() []byte {
	s := make([]byte, secretLen)
	// crypto/rand.Read never fails (Go 1.24+); on a broken system source
	// the program stops instead of using a weak secret.
	_, _ = rand.Read(s)
	return s
}

// maskToken returns base64url(mask || mask XOR secret) with a fresh mask.
func maskToken(secret []byte) string {
	var buf [2 * secretLen]byte
	_, _ = rand.Read(buf[:secretLen])
	subtle.XORBytes(buf[secretLen:], buf[:secretLen], secret)
	return tokenEncoding.EncodeToString(buf[:])
}

// verify reports whether token is secret masked by maskToken. It reads
// outside input: anything but exactly tokenLen base64url characters is
// refused before decoding, and the comparison is constant-time.
func verify(secret []byte, token string) bool {
	if len(secret) != secretLen || len(token) != tokenLen {
		return false
	}
	var buf [2 * secretLen]byte
	n, err := tokenEncoding.Decode(buf[:], []byte(token))
	if err != nil || n != len(buf) {
		return false
	}
	subtle.XORBytes(buf[secretLen:], buf[secretLen:], buf[:secretLen])
	return subtle.ConstantTimeCompare(buf[secretLen:], secret) == 1
}
