// Package policy decides whether a user may choose a new password, following
// NIST SP 800-63B-4: at least 15 characters (Unicode code points, not bytes)
// by default, at least 64 always accepted, no composition rules, and a
// refusal of common or easily guessed passwords and of ones built from the
// user's name or email.
//
//	var p policy.Policy // the defaults
//	if err := p.Check(pw, email, name); err != nil {
//		var pe *policy.Error
//		if errors.As(err, &pe) {
//			show(pe.Reason) // a sentence the user can act on
//		}
//	}
//
// Strength is estimated by zxcvbn (github.com/trustelem/zxcvbn, a port of
// Dropbox zxcvbn 4.4.2 with its 30,000 common passwords and word lists) on
// the first 100 characters; a score below 3 (fewer than about 10^8 guesses)
// is refused.
//
// # Why a package of its own
//
// zxcvbn's dictionaries and matchers are most of the code a program links
// for passwords, and only the screens where a password is chosen need them.
// Keeping the policy apart from package password lets a program that only
// hashes and verifies (a worker, an import tool, another service) leave
// zxcvbn out; BENCHMARKS.md, "Binary size", has the numbers.
package policy
