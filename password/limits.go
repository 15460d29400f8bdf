package password

import "fmt"

// limits bound the work a stored hash may ask for. The parameters of a
// stored hash come from a database row or an import file; without bounds a
// tampered row (argon2 m=4 GiB, bcrypt cost 31, a billion PBKDF2 rounds)
// would make one sign-in take minutes or exhaust memory, and a handful of
// sign-in attempts against that one account would hold every hashing slot.
// Hashes beyond the bounds are refused with ErrUnsupported before any work.
type limits struct {
	encodedBytes int // longest stored hash string

	argon2Memory  uint32 // KiB
	argon2Time    uint32 // passes
	argon2Work    uint64 // memory × passes, in KiB
	argon2Threads uint32 // lanes; always <= 255 so it fits argon2's uint8

	scryptMemory uint64 // bytes, 128·N·r
	scryptWork   uint64 // N·r·p, proportional to time

	pbkdf2Iterations     uint64 // SHA-1, SHA-224, SHA-256
	pbkdf2WideIterations uint64 // SHA-384, SHA-512: about 3× slower per round
	bcryptCost           int
}

// defaultLimits come from a time budget: at most about one second of one
// core and 256 MiB for any one verification, measured on the 2-core
// development machine (Go 1.26, amd64, 2026-11-30) with the x/crypto and
// standard library code Verify runs:
//
//	bcrypt cost 12 / 13 / 14             0.23 s / 0.46 s / 0.93 s
//	argon2id m=256 MiB t=4, p=1          0.70–0.97 s
//	argon2id m=256 MiB t=4, p=4 or p=8   0.35 s on 2 cores (the same CPU time, spread)
//	scrypt N·r·p = 2^21 / 2^22           0.58 s / 1.30 s
//	PBKDF2-SHA256 / SHA-1 3,000,000      0.53 s / 0.56 s
//	PBKDF2-SHA512 3,000,000 / 1,000,000  1.60 s / 0.53 s
//
// bcrypt stops at 13 because 14 already takes the whole second and every
// step doubles it (cost 16 would be about 4 s). argon2 lanes stop at 8: a
// lane is a goroutine, so p bounds how many cores one hashing slot can
// occupy at once, and 8 is the largest default of the libraries we import
// from (argon2-cffi before 21.2: m=102400 t=2 p=8, in testdata), which a
// bound of 4 would lock out. scrypt N·r·p stops at 2^21, the largest power
// of two under the budget.
//
// Everything Flask applications store by default still verifies: Werkzeug
// scrypt N=2^15 r=8 p=1 and PBKDF2-SHA256 up to 1,000,000 rounds; bcrypt
// cost 10–12; argon2-cffi's old (p=8) and current (m=65536 t=3 p=4)
// defaults; and OWASP's strongest scrypt, N=2^17 r=8 p=1.
func defaultLimits() limits {
	return limits{
		encodedBytes:         512,
		argon2Memory:         256 * 1024,
		argon2Time:           16,
		argon2Work:           4 * 256 * 1024,
		argon2Threads:        8,
		scryptMemory:         256 << 20,
		scryptWork:           1 << 21,
		pbkdf2Iterations:     3_000_000,
		pbkdf2WideIterations: 1_000_000,
		bcryptCost:           13,
	}
}

// fit raises the argon2 limits so that hashes made with p always verify,
// even when p is costlier than the defaults allow.
func (l limits) fit(p Params) limits {
	l.argon2Memory = max(l.argon2Memory, p.Memory)
	l.argon2Time = max(l.argon2Time, p.Iterations)
	l.argon2Work = max(l.argon2Work, uint64(p.Memory)*uint64(p.Iterations))
	l.argon2Threads = max(l.argon2Threads, uint32(p.Parallelism))
	own := len(argon2Hash{variant: argon2id, params: p,
		salt: make([]byte, p.SaltLength), key: make([]byte, p.KeyLength)}.String())
	l.encodedBytes = max(l.encodedBytes, own+32)
	return l
}

func (l limits) checkArgon2(p Params) error {
	switch {
	case p.Memory > l.argon2Memory:
		return fmt.Errorf("%w: argon2 memory %d KiB above the limit of %d KiB", ErrUnsupported, p.Memory, l.argon2Memory)
	case p.Iterations > l.argon2Time:
		return fmt.Errorf("%w: argon2 iterations %d above the limit of %d", ErrUnsupported, p.Iterations, l.argon2Time)
	case uint64(p.Memory)*uint64(p.Iterations) > l.argon2Work:
		return fmt.Errorf("%w: argon2 memory × iterations above the limit of %d KiB", ErrUnsupported, l.argon2Work)
	case uint32(p.Parallelism) > l.argon2Threads:
		return fmt.Errorf("%w: argon2 parallelism %d above the limit of %d", ErrUnsupported, p.Parallelism, l.argon2Threads)
	}
	return nil
}

// checkScrypt takes values already known to be at most 2^32 each.
func (l limits) checkScrypt(n, r, p uint64) error {
	if mem := 128 * n * r; mem > l.scryptMemory {
		return fmt.Errorf("%w: scrypt memory %d bytes above the limit of %d", ErrUnsupported, mem, l.scryptMemory)
	}
	// n·r <= scryptMemory/128 now, so n·r·p cannot overflow.
	if work := n * r * p; work > l.scryptWork {
		return fmt.Errorf("%w: scrypt N·r·p = %d above the limit of %d", ErrUnsupported, work, l.scryptWork)
	}
	return nil
}

func (l limits) checkPBKDF2(digest string, iterations uint64) error {
	limit := l.pbkdf2Iterations
	if digest == "sha384" || digest == "sha512" {
		limit = l.pbkdf2WideIterations
	}
	if iterations > limit {
		return fmt.Errorf("%w: pbkdf2-%s iterations %d above the limit of %d", ErrUnsupported, digest, iterations, limit)
	}
	return nil
}

func (l limits) checkBcrypt(cost int) error {
	if cost > l.bcryptCost {
		return fmt.Errorf("%w: bcrypt cost %d above the limit of %d", ErrUnsupported, cost, l.bcryptCost)
	}
	return nil
}
