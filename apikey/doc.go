// Package apikey issues and checks API keys for a net/http service: key
// generation and parsing, scopes, and middleware that authenticates a
// request by its key and checks a scope.
//
// # The key
//
// A key is 61 characters,
//
//	bwk_ IIIIIIII SSSS…(43)…SSSS CCCCCC
//
// made of, from left to right:
//
//   - "bwk_", a fixed prefix, so secret scanners (GitHub's push protection,
//     gitleaks, trufflehog) can match a leaked key with a simple pattern.
//   - I: 8 base62 characters, random: the key's public id. It names the key
//     in lists and URLs and is the database lookup key. Knowing it grants
//     nothing.
//   - S: 43 base62 characters drawn uniformly from crypto/rand: 256 bits
//     of secret (43 × log2 62 ≈ 256.03).
//   - C: 6 base62 characters of the CRC-32 (IEEE) of everything before
//     them. [Parse] checks prefix, length, alphabet and checksum, so a
//     mistyped or truncated key is refused before any database work, and a
//     scanner can tell a real key from a random string that looks like one.
//     The checksum is not a security measure: anyone can compute it.
//
// Base62 has no characters that need escaping in a header, a URL, a shell
// or JSON, and a double click selects the whole key.
//
// # Stored as SHA-256, on purpose not as a password hash
//
// Only [Hash] of the key (SHA-256 over the whole key) is stored, so a
// database dump, a backup or a replica holds nothing a client could send.
// A fast hash is the right one here, and argon2id or bcrypt would be the
// wrong one:
//
//   - Password hashes are slow to make guessing a human-chosen password
//     from a stolen hash expensive. A key is not chosen by a human: its
//     secret is 256 random bits, so a guess succeeds with probability
//     2^-256 whatever the hash costs. Brute force is out of reach already;
//     a slow hash would multiply an astronomically large number by a
//     constant.
//   - SHA-256 is preimage-resistant, which is all a stored hash of a
//     uniformly random secret needs; no salt is needed either, since no
//     two keys share a secret and precomputed tables cannot cover 2^256
//     values.
//   - A key is checked on every API request, not once per sign-in. An
//     argon2id check (about 40 ms and 19 MiB here, see BENCHMARKS.md)
//     per request would cap the API at a few dozen requests per second per
//     core and hand anyone who sends invalid keys a cheap way to exhaust
//     memory and CPU. SHA-256 costs well under a microsecond.
//
// The stored hash is compared with [crypto/subtle.ConstantTimeCompare].
//
// # Checking a request
//
// [Authenticator.Handler] reads the key from the X-API-Key header, else
// from "Authorization: Bearer <key>" (the scheme in any case), and then:
//
//  1. [Parse]: a malformed key is refused here, without calling the Store;
//  2. one indexed read, [Store.KeyByID] by the public id;
//  3. the hash of the given key is compared with the stored one in
//     constant time; a revoked or expired key is refused.
//
// There is no cache: a revocation written to the database stops the key on
// every instance at its next request. The read is a primary-key lookup of
// microseconds (BENCHMARKS.md, "API-key check"); a cache would save little
// and would let a revoked key live on for its lifetime.
//
// Every refusal of a given key (malformed, unknown, wrong secret, expired,
// revoked) is the same error, [ErrInvalid], so the answer tells a client
// nothing about which it was. A request without a key gets [ErrMissing];
// both are answered 401 with a WWW-Authenticate header (RFC 6750). A
// store that cannot answer gives [ErrUnavailable]: the request is refused
// (503 by default), never let through.
//
// On success the [Key] is in the request's context ([FromContext]).
// [Authenticator.Require] then refuses a key without a given scope with a
// [*ScopeError], wrapping [ErrForbidden] (403).
//
// # Last use
//
// The key's last-use time is written at most once per
// Options.TouchInterval (one minute by default) per key and process: a
// request whose key was used within the interval writes nothing, so the API
// never makes a database write per request. The write is best effort; a
// failure is logged and the request goes on.
//
// # Scopes
//
// [UsersRead], [UsersWrite], [FilesRead], [FilesWrite]. [UsersWrite] is
// admin-only ([AdminOnly]): [ParseScopes] refuses to grant it to a key
// whose owner is not an administrator, and [Key.Has] does not count it for
// a key whose owner is no longer one.
package apikey
