// Package clientip finds the address of the client that sent a request,
// believing forwarding headers only when they come from proxies you trust.
//
// Rate limits, audit logs and lockouts are keyed by the client address, so an
// address a client can choose is worse than none: it dodges its own limits and
// can exhaust someone else's. Many libraries read the leftmost
// X-Forwarded-For entry or X-Real-IP from anyone. This package does not:
//
//   - With no trusted proxies (the default) the client is the TCP peer,
//     [http.Request.RemoteAddr], and every header is ignored.
//   - When the peer is inside a trusted prefix, X-Forwarded-For (or RFC 7239
//     Forwarded) is walked from right to left — each proxy appends the address
//     it saw, so the right end is what your own proxies wrote — skipping
//     trusted addresses. The first untrusted address is the client. If every
//     hop is trusted, the leftmost one is.
//   - A malformed, zoned, "unknown" or obfuscated entry, more than 32 hops or
//     more than 8 KiB of header stop the walk; the answer is then the last
//     address that could be trusted. No input makes ClientIP fail, and no
//     entry left of an untrusted one is ever read.
//   - X-Real-IP is never read: it is a single value with no chain, so it
//     cannot be checked against the proxies that relayed it.
//
// Trusted prefixes must hold proxies only. A trusted range that also holds
// clients (an office network behind the same proxy) lets those clients pick
// their address, because their own entry is skipped as "trusted".
//
// # X-Forwarded-For or Forwarded
//
// When a request carries X-Forwarded-For or X-Forwarded-Proto, the
// X-Forwarded-* headers are used and Forwarded is ignored; Forwarded is read
// only when neither is present. Almost every proxy (nginx, HAProxy, Envoy,
// cloud load balancers) writes X-Forwarded-For and passes a client's
// Forwarded header through untouched, so preferring Forwarded would let any
// client behind such a proxy choose its address. If your proxy writes only
// Forwarded, configure it to drop incoming X-Forwarded-For and
// X-Forwarded-Proto.
//
// # Parsing from the right
//
// Headers are read backwards, element by element, so what a client sends
// cannot change how the entries your proxies appended are read (an unclosed
// quote on the left, for example, does not swallow them), and a huge
// client-supplied prefix costs nothing unless the walk reaches it.
package clientip
