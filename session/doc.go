// Package session keeps server-side sessions with secure defaults, on top of
// github.com/alexedwards/scs/v2.
//
// It fixes what scs leaves to each application:
//
//   - The cookie is Secure (with the __Host- prefix), HttpOnly and
//     SameSite=Lax, and it lasts for the browser session unless the user
//     asked to be remembered at sign-in ([LoginOptions]). The server ends
//     every session after Config.Lifetime either way.
//   - The token is renewed at login and password change, so a session fixed
//     before login is worthless. [Config.OnRenew] runs after every renewal,
//     which is where a CSRF secret is rotated once for the whole
//     application instead of at every call site.
//   - Tokens are never stored. Every store (SQL, Redis, memory) keeps a
//     session under the SHA-256 of its token, and the per-user [Index] keeps
//     only that hash. A leaked database dump or Redis snapshot therefore
//     holds nothing a browser could present as a cookie.
//   - A per-user [Index] lets a user see where they are signed in and end
//     one or all of those sessions on any store. Revocation is final: a
//     request of the revoked session that is still running cannot write the
//     session back when it ends, because a signed-in session is only
//     committed while its hash is still in the index.
//
// The idle timeout is enforced here rather than by scs, because scs rewrites
// the whole session to its store on every request when it has an idle
// timeout. This package records the last-seen time at most once per
// TouchInterval instead.
//
// # Values
//
// [Manager.Value] names one value of the session, such as a CSRF secret or a
// one-time message. Its Get and Put methods have the shape of csrf.Store, so
// a [*Value] can be given to the csrf package as it is, without this package
// importing csrf.
package session
