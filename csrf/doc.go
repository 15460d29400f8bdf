// Package csrf protects cookie-authenticated forms against cross-site
// request forgery, the way Flask-WTF's CSRFProtect does, in two layers:
//
//  1. net/http's CrossOriginProtection refuses unsafe requests that the
//     browser marks as cross-site (Sec-Fetch-Site) or whose Origin does
//     not match the Host.
//  2. A token: each form carries a field (or each fetch a header) holding a
//     secret, masked with fresh random bytes on every render so that
//     compressed pages do not leak it (BREACH). The token is checked in
//     constant time.
//
// The first layer stops what browsers can tell is cross-site; the second
// still stops a forged request when that signal is missing or weak:
// browsers older than 2023 send no Sec-Fetch-Site, and the Origin fallback
// compares host names only, not http against https.
//
// A multipart body (a file upload) is not parsed whole for the token: that
// would hold or spool the whole upload before the check. The token must be
// the body's first part, which it is when the form's token field comes
// before the file input, or be sent in the header; what was read to find
// it is put back in front of the body, so the handler can stream the rest.
//
// Safe methods (GET, HEAD, OPTIONS, TRACE) are never checked, so they
// must never change state. Paths under Options.ExemptPrefixes are not
// checked either: only for endpoints that do not authenticate by cookie
// (an API keyed by header).
//
// # Where the secret lives
//
// A signed-in request's secret is kept in its server-side session
// (Options.Store). It is bound to that session, which the session layer
// renews at sign-in, so no one outside the session can know it.
//
// A visitor who is not signed in has no session, and rendering the sign-in
// form must not create one: a server-side row per anonymous GET lets anyone
// fill the session store. Those requests use OWASP's signed double-submit
// cookie instead: the secret is kept in the browser, in an HttpOnly,
// SameSite=Lax, browser-session cookie ("__Host-csrf" when Secure),
// HMAC-signed with Options.CookieKeys, and the form's token must match it.
// A forger cannot read the cookie, and cannot replace it with one of their
// own from another site (SameSite, __Host-, the signature). This is weaker
// than session binding against an attacker who can write cookies for the
// site (for example over plain HTTP without Secure), which is why it is
// used only where no session exists.
//
// Options.UseCookie makes the choice per request, because only the
// application knows what "signed in" means. It is asked at every Token,
// check and Rotate, so the POST that signs in is checked against the
// cookie, and the same request, once signed in, issues and rotates the
// session's secret. Tokens issued before sign-in are then useless: they
// mask the cookie secret, and signed-in requests verify against the
// session's. Rotate deletes the CSRF cookie when it rotates a session
// secret; call it from session.Config.OnRenew so that every renewal
// rotates.
//
// # Wiring
//
// The session middleware runs outside this one, so that the Store sees the
// request's session:
//
//	sessions.Handler(protection.Handler(mux))
//
// Token creates a secret on first use: with Store.Put, or as a cookie on the
// response. Either must reach the browser, so call Token before the
// response body is written; render pages to a buffer first. Pages holding
// tokens must not be stored by shared caches; when it sets the cookie this
// package adds Cache-Control: no-store.
package csrf
