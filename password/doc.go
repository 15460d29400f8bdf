// Package password stores and checks user passwords: argon2id hashing,
// verification of hashes imported from a Flask application, and a bound on
// the hashing work a server will do at once. Deciding whether a new password
// may be chosen (NIST SP 800-63B-4, zxcvbn) is package
// github.com/bulwarkhq/bulwark/password/policy, kept apart so that programs
// which only hash and verify do not link zxcvbn's dictionaries.
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
//     import file, so they are bounded before any work, from a time budget
//     of about one second of one core and 256 MiB per verification: argon2
//     memory at most 256 MiB, iterations at most 16, memory × iterations at
//     most 1 GiB, at most 8 lanes; scrypt memory (128·N·r) at most 256 MiB
//     and N·r·p at most 2^21; PBKDF2 at most 3,000,000 iterations
//     (1,000,000 with SHA-384 and SHA-512, about three times slower per
//     round); bcrypt cost at most 13. Measured on a 2-core amd64 machine,
//     bcrypt cost 12 takes 0.23 s, 13 takes 0.46 s and 14 takes 0.93 s, each
//     step doubling; the other bounds' costliest hashes take 0.5–1 s (the
//     table is in limits.go). The argon2 bounds grow to fit the Hasher's own
//     parameters. A hash beyond them is not verified: Verify and
//     ValidateHash fail with ErrUnsupported, and the message names the
//     parameter and its limit. One that is not what its maker writes (bad
//     syntax or encoding, or parameters the scheme or, for Werkzeug, Python
//     and OpenSSL refuse) fails with ErrMalformed. With the defaults,
//     MaxConcurrent verifications of at most about a second and 256 MiB each
//     run at once.
//
// Derived keys are compared in constant time. Errors never contain the
// password or the stored hash.
package password
