// Package password stores and checks user passwords: argon2id hashing,
// verification of hashes imported from a Flask application, a bound on the
// hashing work a server will do at once, and a NIST SP 800-63B-4 policy for
// choosing new passwords.
//
// # Hashing
//
// New hashes are argon2id with the OWASP Password Storage Cheat Sheet
// parameters (19 MiB, 2 iterations, 1 lane, 16-byte salt, 32-byte key),
// written as the PHC string of the reference implementation and
// argon2-cffi:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// The parameters travel in the string, so they can be raised later without
// breaking old hashes; NeedsRehash reports a hash whose parameters differ
// from the Hasher's.
//
// # Legacy forms, upgraded at sign-in
//
// Verify also accepts what Flask applications store, checked against
// hashes made by the real libraries (testdata/werkzeug-hashes.json):
//
//   - argon2id and argon2i, version 19, from argon2-cffi or any PHC writer;
//   - Werkzeug scrypt ("scrypt:N:r:p$salt$hex", or bare "scrypt" for N=2^15,
//     r=8, p=1): the salt string's UTF-8 bytes are the salt, 64-byte key;
//   - Werkzeug PBKDF2 ("pbkdf2:sha256:600000$salt$hex", also sha1, sha224,
//     sha384, sha512); a method without a count ("pbkdf2:sha256") uses
//     260000, the default of Werkzeug 2.0–2.2;
//   - bcrypt $2a$, $2b$ and $2y$, as python bcrypt reads them: only the
//     first 72 bytes of the password count, and a password containing NUL
//     never matches. bcrypt hashes are never created.
//
// These are weaker than the current argon2id (Werkzeug's scrypt N=2^15 and
// its PBKDF2 counts are below today's OWASP advice; bcrypt ignores all but
// 72 bytes), but the password is only known at sign-in. So the application
// verifies, asks NeedsRehash (true for every legacy form), and stores a
// fresh Hash of the password the user just typed. Hashes are never
// converted in bulk and never re-wrapped.
//
// # Bounds
//
// Hashing is meant to be expensive, which makes it a lever for denial of
// service. Three bounds hold it:
//
//   - At most Options.MaxConcurrent hashes or verifications run at once
//     (default GOMAXPROCS), each holding its memory while it runs; callers
//     wait at most Options.MaxWait for a slot and their context, then get
//     ErrBusy (answer 503 with Retry-After). VerifyDummy, the decoy check
//     for unknown accounts, takes a slot like any other.
//   - Passwords longer than Options.MaxBytes (default 1024) are refused
//     with ErrTooLong before any work.
//   - The parameters inside a stored hash come from a database row or an
//     import file, so they are bounded before any work: argon2 memory at
//     most 256 MiB, iterations at most 16, memory × iterations at most
//     1 GiB, at most 16 lanes; scrypt memory (128·N·r) at most 256 MiB and
//     N·r·p at most 2^22; PBKDF2 at most 3,000,000 iterations; bcrypt cost
//     at most 16. The argon2 bounds grow to fit the Hasher's own
//     parameters. A hash beyond them fails with ErrUnsupported; one that
//     is not what its maker writes (bad syntax or encoding, or parameters
//     the scheme or, for Werkzeug, Python and OpenSSL refuse) with
//     ErrMalformed. With the defaults one verification needs at most about
//     256 MiB and a few seconds of one core, and MaxConcurrent of them run
//     at once.
//
// Derived keys are compared in constant time. Errors never contain the
// password or the stored hash.
//
// # Choosing a password
//
// Policy follows NIST SP 800-63B-4: at least 15 characters (Unicode code
// points, not bytes) by default, at least 64 always accepted, no
// composition rules, and a refusal of common or easily guessed passwords
// and of ones built from the user's name or email. Strength is estimated by
// zxcvbn (github.com/trustelem/zxcvbn, a port of Dropbox zxcvbn 4.4.2 with
// its 30,000 common passwords and word lists) on the first 100 characters;
// a score below 3 (fewer than about 10^8 guesses) is refused. Refusals are
// *PolicyError values whose Reason tells the user what to do.
package password
