// Package headers sets the security response headers of a well-run web
// application, the net/http equivalent of Flask-Talisman: a
// Content-Security-Policy with a fresh nonce per request, HSTS, an optional
// redirect from http to https, and the small fixed headers (nosniff,
// frame denial, referrer and permissions policies, cross-origin isolation).
//
// The headers are set before the wrapped handler runs, so every response
// carries them, including errors written further down the chain (404, 405,
// 413, 429, 500). A handler may still replace one, for example a download
// that needs "Content-Security-Policy: sandbox".
//
// Templates read the request's nonce with [Nonce] and put it on the few
// script elements they need:
//
//	<script src="/static/app.js" nonce="{{.Nonce}}"></script>
//
// [New] checks the Policy once and returns an error for one that cannot be
// written safely as headers; [MustNew] panics instead, for a Policy written
// into the program.
//
// The https redirect validates the client's Host before it goes into a
// Location (no user info, no other origin, no header split).
// [HTTPSRedirectTarget] exports that builder for a listener that answers
// plain HTTP itself and wants the same checks with its own port rule.
//
// # Why not unrolled/secure
//
// This is a small layer of our own rather than github.com/unrolled/secure.
// That library takes the CSP as one flat string and re-runs fmt.Sprintf over
// it to splice in a "$NONCE", so a directive map, the nonce directives and
// report-to would be ours to render anyway. Its https redirect answers every
// method with 301 (a POST becomes a GET; we need 308) and believes
// X-Forwarded-Proto from any client, with no hook for trusted proxies.
// What is left (a dozen fixed headers) is shorter to own than to adapt.
package headers
