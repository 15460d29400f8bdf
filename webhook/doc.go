// Package webhook receives HMAC-signed webhooks: it checks the signature
// header, the timestamp's freshness and that the delivery has not been seen
// before, and hands back the body it verified.
//
// The sender signs "<t>.<body>" — the Unix time of sending, a dot, the raw
// body — with HMAC-SHA256 and sends
//
//	X-Bulwark-Signature: t=1700000000,v1=600623fb34dc3d02d7a4cd28e53f5bb9bc6c186fb17c7098d4a8cd58e619c089
//
// [Sign] makes that value. A receiver:
//
//	v, err := webhook.New(webhook.Options{
//		Secrets: [][]byte{current, previous}, // previous: still accepted while senders move over
//		Replay:  webhook.NewMemoryReplayStore(webhook.MemoryOptions{}), // or a shared store
//	})
//	...
//	mux.Handle("POST /webhook", v.Handler(http.HandlerFunc(receive))) // r.Body is the verified body
//
// # What is checked, in order
//
//  1. The header: exactly one, at most 4 KiB, one t= (decimal Unix seconds,
//     no sign or leading zero) and one to eight v1= values of exactly 32
//     bytes in hex. Other schemes (a v0 or a future v2) are skipped, as
//     Stripe does, so a sender can add one without breaking receivers.
//     Missing: ErrMissing; anything else wrong: ErrMalformed.
//  2. The timestamp: within the tolerance (5 minutes) of the receiver's clock,
//     either way: ErrStale. Checked before the body is read, so an old
//     capture costs no hashing.
//  3. The body: at most MaxBody (1 MiB) is read, and a longer one is refused
//     before any hashing: ErrTooLarge.
//  4. The signature: the HMAC under each secret, first the current one,
//     compared with every v1 value in constant time (hmac.Equal): ErrBadSignature
//     if none matches. The search stops at the first secret that matches;
//     that tells only which secret a genuine sender used, which it knows.
//  5. Replay: the delivery is claimed in the ReplayStore until it can no
//     longer pass step 2: ErrReplay if it was claimed before.
//
// [Status] maps these to HTTP: 401 for the first four kinds, 409 for a
// replay, 413 for a large body, 503 when the replay store cannot answer
// (fail closed: a delivery that cannot be checked for replay is refused,
// and the sender retries).
//
// # What identifies a delivery
//
// The replay id is the hex SHA-256 of the signed message "<t>.<body>", not
// of the signature that matched. During a rotation a sender signs with both
// secrets and sends two v1 values; had the id been the matching signature,
// an attacker could replay the captured request with only the old-secret
// value left in the header: the verifier would then match the old secret, get
// another id, and accept the delivery a second time. The signed message is
// the same whatever the header holds, so every copy of a delivery has one
// id. Two deliveries are distinct exactly when their timestamp or body
// differs, which a sender resending on purpose gets by signing anew.
//
// The claim lasts until the timestamp leaves the tolerance window, plus a
// minute, so instances whose clocks differ by up to a minute still see it.
// Only requests with a valid signature reach the store, so its size follows
// the sender's rate, not an attacker's.
//
// # Replay stores
//
// The store must be shared by every instance that receives the webhook, or
// a delivery could be accepted once per instance. [MemoryReplayStore] is
// right for one process; a Redis store is one SET key NX with the expiry
// (PXAT), a SQL store an INSERT of (id, expiry) that fails on a duplicate
// key once expired rows are ignored or deleted.
package webhook
