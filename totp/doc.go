// Package totp adds a second factor to a password sign-in: time-based
// one-time passwords (RFC 6238) as authenticator apps show them, and
// recovery codes for the day the phone is lost.
//
// It wraps github.com/pquerna/otp with the parts a service must get right
// around it and that the library leaves to its caller:
//
//   - a code is accepted once: [Validate] takes the last time step the
//     account accepted and returns the step a code matched, so the caller
//     stores it and a code seen twice (an observer replaying it within its
//     30 seconds) is refused with [ErrReplayed];
//   - one step of clock skew either way, no more;
//   - codes typed with spaces ("123 456") are read, anything else that is
//     not six digits is refused before any work ([ParseCode]);
//   - recovery codes with 50 bits of entropy each, grouped for reading
//     ("abcde-fghij") and read back tolerantly ([ParseRecoveryCode]);
//   - the QR code as PNG bytes ([Key.PNG]), to be served from the site's
//     own origin so a strict Content-Security-Policy needs no data: URLs.
//
// Storing the secret is the caller's: keep it encrypted (see
// secrets.Sealer), keep the last accepted step per account, and store
// only hashes of recovery codes.
package totp
