// Package csrf protects cookie-authenticated forms against cross-site
// request forgery, the way Flask-WTF's CSRFProtect does, in two layers:
//
//  1. net/http's CrossOriginProtection refuses unsafe requests that the
//     browser marks as cross-site (Sec-Fetch-Site) or whose Origin does
//     not match the Host.
//  2. A token bound to the session: each form carries a field (or each
//     fetch a header) holding the session's secret, masked with fresh
//     random bytes on every render so that compressed pages do not leak it
//     (BREACH). The token is checked in constant time.
//
// The first layer stops what browsers can tell is cross-site; the second
// still stops a forged request when that signal is missing or weak:
// browsers older than 2023 send no Sec-Fetch-Site, and the Origin fallback
// compares host names only, not http against https.
//
// Safe methods (GET, HEAD, OPTIONS, TRACE) are never checked, so they
// must never change state. Paths under Options.ExemptPrefixes are not
// checked either: only for endpoints that do not authenticate by cookie
// (an API keyed by header).
//
// # Wiring
//
// The session middleware runs outside this one, so that the Store sees the
// request's session:
//
//	sessions.LoadAndSave(protection.Handler(mux))
//
// Token creates the session's secret on first use and stores it with
// Store.Put. That must reach the session cookie, so the session layer has to
// save after the handler has finished writing; scs's LoadAndSave buffers the
// response and does exactly that. With a session layer that writes its
// cookie when the response starts, call Token before writing the body.
package csrf
