package password

import "fmt"

// limits bound the work a stored hash may ask for. The parameters of a
// stored hash come from a database row or an import file; without bounds a
// tampered row (argon2 m=4 GiB, bcrypt cost 31, a billion PBKDF2 rounds)
// would make one sign-in take minutes or exhaust memory. Hashes beyond the
// bounds are refused with ErrUnsupported before any work.
type limits struct {
	encodedBytes int // longest stored hash string

	argon2Memory  uint32 // KiB
	argon2Time    uint32 // passes
	argon2Work    uint64 // memory × passes, in KiB
	argon2Threads uint32 // lanes; always <= 255 so it fits argon2's uint8

	scryptMemory uint64 // bytes, 128·N·r
	scryptWork   uint64 // N·r·p, proportional to time

	pbkdf2Iterations uint64
	bcryptCost       int
}

// defaultLimits allow every default of the libraries we import from with
// room to spare (argon2-cffi m=100 MiB t=2 p=8; Werkzeug scrypt N=2^15 r=8
// and PBKDF2 up to 1,000,000 rounds; bcrypt cost 10–12; OWASP's strongest
// scrypt, N=2^17 r=8) while keeping any one verification to about a
// second or two of CPU and at most 256 MiB of memory.
func defaultLimits() limits {
	return limits{
		encodedBytes:     512,
		argon2Memory:     256 * 1024,
		argon2Time:       16,
		argon2Work:       4 * 256 * 1024,
		argon2Threads:    16,
		scryptMemory:     256 << 20,
		scryptWork:       1 << 22,
		pbkdf2Iterations: 3_000_000,
		bcryptCost:       16,
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

func (l limits) checkPBKDF2(iterations uint64) error {
	if iterations > l.pbkdf2Iterations {
		return fmt.Errorf("%w: pbkdf2 iterations %d above the limit of %d", ErrUnsupported, iterations, l.pbkdf2Iterations)
	}
	return nil
}

func (l limits) checkBcrypt(cost int) error {
	if cost > l.bcryptCost {
		return fmt.Errorf("%w: bcrypt cost %d above the limit of %d", ErrUnsupported, cost, l.bcryptCost)
	}
	return nil
}
