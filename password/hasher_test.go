package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHashDefaultParams(t *testing.T) {
	h := NewHasher(Options{})
	const pw = "correct horse battery staple"
	enc, err := h.Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q; want argon2id with OWASP parameters", enc)
	}
	a, err := parseArgon2(enc)
	if err != nil {
		t.Fatal(err)
	}
	if a.params != DefaultParams() {
		t.Errorf("params = %+v; want %+v", a.params, DefaultParams())
	}
	if f := strings.Split(enc, "$"); len(f) != 6 || strings.ContainsRune(f[4]+f[5], '=') {
		t.Errorf("Hash = %q: want unpadded base64 salt and key", enc)
	}
	if ok, err := h.Verify(t.Context(), pw, enc); err != nil || !ok {
		t.Errorf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := h.Verify(t.Context(), pw+"x", enc); err != nil || ok {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash of a fresh hash = true")
	}
	enc2, _ := h.Hash(t.Context(), pw)
	if enc2 == enc {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestParamsDefaults(t *testing.T) {
	if got := NewHasher(Options{}).Params(); got != DefaultParams() {
		t.Errorf("zero Params = %+v; want DefaultParams", got)
	}
	got := NewHasher(Options{Params: Params{Memory: 65536, Parallelism: 4}}).Params()
	want := Params{Memory: 65536, Iterations: 2, Parallelism: 4, SaltLength: 16, KeyLength: 32}
	if got != want {
		t.Errorf("partial Params = %+v; want %+v", got, want)
	}
	// Values x/crypto/argon2 would panic on or the spec forbids are raised.
	got = NewHasher(Options{Params: Params{Memory: 1, Parallelism: 4, SaltLength: 1, KeyLength: 1}}).Params()
	if got.Memory != 32 || got.SaltLength != 8 || got.KeyLength != 4 {
		t.Errorf("too-small Params = %+v; want memory 32, salt 8, key 4", got)
	}
}

func TestNeedsRehash(t *testing.T) {
	h := NewHasher(Options{Params: fastParams})
	own, _ := h.Hash(t.Context(), "pw")
	other := NewHasher(Options{Params: Params{Memory: 128, Iterations: 1, Parallelism: 1}})
	stronger, _ := other.Hash(t.Context(), "pw")
	longerKey := NewHasher(Options{Params: Params{Memory: 64, Iterations: 1, Parallelism: 1, KeyLength: 64}})
	longKey, _ := longerKey.Hash(t.Context(), "pw")
	argon2iSame := argon2Hash{variant: argon2i, params: fastParams, salt: make([]byte, 16), key: make([]byte, 32)}.String()
	for _, c := range []struct {
		enc  string
		want bool
	}{
		{own, false},
		{stronger, true},
		{longKey, true},
		{argon2iSame, true},
		{"", true},
		{"$argon2id$v=19$m=64,t=1,p=1$garbage", true},
		{"$2b$10$MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm", true},
	} {
		if got := h.NeedsRehash(c.enc); got != c.want {
			t.Errorf("NeedsRehash(%q) = %v; want %v", c.enc, got, c.want)
		}
	}
}

// noWork makes h fail the test if a key derivation starts.
func noWork(t *testing.T, h *Hasher) {
	t.Helper()
	h.beforeWork = func(scheme string) {
		t.Helper()
		t.Fatalf("%s derivation started; the input should have been refused first", scheme)
	}
}

// A long password must be refused before it costs anything: before waiting
// for a slot and before any hashing. With the slot held and a short
// MaxWait, a missing length check shows up as ErrBusy instead.
func TestTooLongRefusedBeforeHashing(t *testing.T) {
	h := NewHasher(Options{Params: fastParams, MaxConcurrent: 1, MaxWait: 10 * time.Millisecond, MaxBytes: 1024})
	enc, err := h.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	noWork(t, h)
	h.slots <- struct{}{} // hold the only slot
	long := strings.Repeat("a", 1025)

	if _, err := h.Hash(t.Context(), long); !errors.Is(err, ErrTooLong) {
		t.Errorf("Hash(1025 bytes) error = %v; want ErrTooLong", err)
	}
	ok, err := h.Verify(t.Context(), long, enc)
	if ok || !errors.Is(err, ErrTooLong) {
		t.Errorf("Verify(1025 bytes) = %v, %v; want ErrTooLong", ok, err)
	}
	if err != nil && strings.Contains(err.Error(), "aaaa") {
		t.Error("error contains the password")
	}
	if err := h.VerifyDummy(t.Context(), long); !errors.Is(err, ErrTooLong) {
		t.Errorf("VerifyDummy(1025 bytes) = %v; want ErrTooLong", err)
	}

	<-h.slots
	h.beforeWork = nil
	if _, err := h.Hash(t.Context(), strings.Repeat("a", 1024)); err != nil {
		t.Errorf("Hash(1024 bytes) = %v; want success", err)
	}
}

// When every slot is held past MaxWait, callers get ErrBusy instead of
// queueing without bound (the memory of each running hash adds up).
func TestBusyWhenSlotsHeld(t *testing.T) {
	h := NewHasher(Options{Params: fastParams, MaxConcurrent: 2, MaxWait: 20 * time.Millisecond})
	enc, err := h.Hash(t.Context(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	noWork(t, h)
	h.slots <- struct{}{}
	h.slots <- struct{}{}

	if _, err := h.Hash(t.Context(), "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash error = %v; want ErrBusy", err)
	}
	if ok, err := h.Verify(t.Context(), "pw", enc); ok || !errors.Is(err, ErrBusy) {
		t.Errorf("Verify = %v, %v; want ErrBusy", ok, err)
	}
	if err := h.VerifyDummy(t.Context(), "pw"); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyDummy = %v; want ErrBusy", err)
	}

	<-h.slots
	h.beforeWork = nil
	if ok, err := h.Verify(t.Context(), "pw", enc); err != nil || !ok {
		t.Errorf("Verify with a free slot = %v, %v", ok, err)
	}
}

// Waiting for a slot stops when the request's context does, and a request
// whose context is already done gets no slot even if one is free.
func TestWaitHonoursContext(t *testing.T) {
	h := NewHasher(Options{Params: fastParams, MaxConcurrent: 1, MaxWait: time.Hour})
	noWork(t, h)
	h.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrBusy) {
		t.Errorf("Hash error = %v; want context.DeadlineExceeded", err)
	}
	<-h.slots

	done, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := h.VerifyDummy(done, "pw"); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyDummy(cancelled) = %v; want context.Canceled", err)
	}
}

// No more than MaxConcurrent derivations ever run at once.
func TestConcurrencyBound(t *testing.T) {
	const limit = 2
	h := NewHasher(Options{Params: fastParams, MaxConcurrent: limit, MaxWait: time.Minute})
	var running, most atomic.Int32
	h.beforeWork = func(string) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond) // hold the slot so callers overlap
		running.Add(-1)
	}
	enc, _ := h.Hash(t.Context(), "pw")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = h.Hash(t.Context(), "pw")
			case 1:
				_, err = h.Verify(t.Context(), "pw", enc)
			default:
				err = h.VerifyDummy(t.Context(), "pw")
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := most.Load(); got > limit {
		t.Errorf("%d derivations ran at once; limit %d", got, limit)
	}
}

// VerifyDummy does real argon2id work with h's own parameters, so an
// unknown email takes as long as a known one with a current hash.
func TestVerifyDummyDoesTheWork(t *testing.T) {
	h := NewHasher(Options{})
	var schemes []string
	h.beforeWork = func(s string) { schemes = append(schemes, s) }
	if err := h.VerifyDummy(t.Context(), "any password at all"); err != nil {
		t.Fatal(err)
	}
	if len(schemes) != 1 || schemes[0] != "argon2id" {
		t.Fatalf("VerifyDummy ran %v; want one argon2id derivation", schemes)
	}
	a, err := parseArgon2(h.dummy)
	if err != nil {
		t.Fatal(err)
	}
	if a.params != h.Params() {
		t.Errorf("dummy params %+v; want the hasher's %+v", a.params, h.Params())
	}
	if h.NeedsRehash(h.dummy) {
		t.Error("dummy hash is not a current hash")
	}
}

func TestZeroHasherRefuses(t *testing.T) {
	var h Hasher
	if _, err := h.Hash(t.Context(), "pw"); err == nil {
		t.Error("zero Hasher hashed")
	}
	if ok, err := h.Verify(t.Context(), "pw", "$2b$10$MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm"); ok || err == nil {
		t.Error("zero Hasher verified")
	}
	if err := h.VerifyDummy(t.Context(), "pw"); !errors.Is(err, errNotNew) {
		t.Errorf("VerifyDummy = %v; want errNotNew", err)
	}
	if err := h.ValidateHash("$2b$10$MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm"); !errors.Is(err, errNotNew) {
		t.Errorf("ValidateHash = %v; want errNotNew", err)
	}
}

// A stored hash comes from a database row or an import file. Parameters
// asking for unbounded work, and strings that are not what their maker
// writes, are refused before any derivation starts.
func TestTamperedHashesRefused(t *testing.T) {
	const (
		a2salt = "QarnIHsp4OedbvYjdt0GeA"
		a2key  = "ApeykUmiC8LrYVKgp6gj+A"
		wzHex  = "fada684faed8c1cfdb3192fc338be52df55f90d634d1c8daf4e8b6677002fe344372e5e795d72bc42637ae4789209ffd4f9c9d039ecf45a73c1730fc88c7eb46"
		sha256 = "be7c94cd1ec286b3699ea3da349b4a21f345ba01693d5c69525a2c73a127e44e"
		bcBody = "MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm"
	)
	argon := func(s string) string { return s + "$" + a2salt + "$" + a2key }
	u, m := ErrUnsupported, ErrMalformed
	cases := []struct {
		name, enc string
		want      error
	}{
		// argon2: work bounds
		{"argon2 memory 4 GiB", argon("$argon2id$v=19$m=4194304,t=2,p=1"), u},
		{"argon2 memory 2^32-1 KiB", argon("$argon2id$v=19$m=4294967295,t=1,p=1"), u},
		{"argon2 iterations 100000", argon("$argon2id$v=19$m=19456,t=100000,p=1"), u},
		{"argon2 memory×iterations", argon("$argon2id$v=19$m=262144,t=16,p=1"), u},
		{"argon2 parallelism 9", argon("$argon2id$v=19$m=102400,t=2,p=9"), u},
		{"argon2 parallelism 64", argon("$argon2id$v=19$m=102400,t=2,p=64"), u},
		{"argon2 parallelism 300", argon("$argon2id$v=19$m=102400,t=2,p=300"), u},
		{"argon2i memory 4 GiB", argon("$argon2i$v=19$m=4194304,t=2,p=1"), u},
		// argon2: what the format or the spec forbids
		{"argon2d", argon("$argon2d$v=19$m=65536,t=2,p=1"), u},
		{"argon2 version 16", argon("$argon2id$v=16$m=65536,t=2,p=1"), u},
		{"argon2 no version", argon("$argon2id$m=65536,t=2,p=1"), u},
		{"argon2 t=0", argon("$argon2id$v=19$m=65536,t=0,p=1"), m},
		{"argon2 p=0", argon("$argon2id$v=19$m=65536,t=2,p=0"), m},
		{"argon2 m below 8p", argon("$argon2id$v=19$m=7,t=2,p=1"), m},
		{"argon2 leading zero", argon("$argon2id$v=19$m=019456,t=2,p=1"), m},
		{"argon2 sign", argon("$argon2id$v=19$m=+19456,t=2,p=1"), m},
		{"argon2 negative", argon("$argon2id$v=19$m=-1,t=2,p=1"), m},
		{"argon2 overflow", argon("$argon2id$v=19$m=4294967296,t=2,p=1"), m},
		{"argon2 huge", argon("$argon2id$v=19$m=99999999999999999999999,t=2,p=1"), m},
		{"argon2 order", argon("$argon2id$v=19$t=2,m=65536,p=1"), m},
		{"argon2 extra param", argon("$argon2id$v=19$m=65536,t=2,p=1,keyid=x"), m},
		{"argon2 unknown variant", argon("$argon2x$v=19$m=65536,t=2,p=1"), m},
		{"argon2 missing key", "$argon2id$v=19$m=65536,t=2,p=1$" + a2salt, m},
		{"argon2 extra field", argon("$argon2id$v=19$m=65536,t=2,p=1") + "$x", m},
		{"argon2 short salt", "$argon2id$v=19$m=65536,t=2,p=1$AAAAAA$" + a2key, m},
		{"argon2 short key", "$argon2id$v=19$m=65536,t=2,p=1$" + a2salt + "$AAA", m},
		{"argon2 padded", argon("$argon2id$v=19$m=65536,t=2,p=1") + "==", m},
		{"argon2 newline", "$argon2id$v=19$m=65536,t=2,p=1$QarnIHsp4Oed\nbvYjdt0GeA$" + a2key, m},
		{"argon2 stray bits", "$argon2id$v=19$m=65536,t=2,p=1$QarnIHsp4OedbvYjdt0GeB$" + a2key, m},
		{"argon2 urlsafe", "$argon2id$v=19$m=65536,t=2,p=1$" + a2salt + "$ApeykUmiC8LrYVKgp6gj-A", m},

		// scrypt: work bounds (parameters Werkzeug could have used)
		{"scrypt 1 GiB", "scrypt:1048576:8:1$LjDDhCaNACXqNv3u$" + wzHex, u},
		{"scrypt N·r·p 2^22", "scrypt:16384:8:32$LjDDhCaNACXqNv3u$" + wzHex, u},
		{"scrypt N·r·p 2^23", "scrypt:16384:8:64$LjDDhCaNACXqNv3u$" + wzHex, u},
		// scrypt: parameters Python/OpenSSL refuse, so Werkzeug never wrote them
		{"scrypt N=2^30", "scrypt:1073741824:8:1$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt p=1000", "scrypt:32768:8:1000$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt N not power of 2", "scrypt:32767:8:1$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt N=1", "scrypt:1:8:1$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt N too small for maxmem", "scrypt:16:8:1$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt r=0", "scrypt:32768:0:1$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt N>=2^(16r)", "scrypt:65536:1:1$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt overflow", "scrypt:18446744073709551616:8:1$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt two args", "scrypt:32768:8$LjDDhCaNACXqNv3u$" + wzHex, m},
		{"scrypt short hash", "scrypt:32768:8:1$LjDDhCaNACXqNv3u$" + wzHex[:64], m},
		{"scrypt uppercase hex", "scrypt:32768:8:1$LjDDhCaNACXqNv3u$" + strings.ToUpper(wzHex), m},
		{"scrypt empty salt", "scrypt:32768:8:1$$" + wzHex, m},
		{"scrypt salt punctuation", "scrypt:32768:8:1$LjDD-CaN$" + wzHex, m},
		{"scrypt no salt field", "scrypt:32768:8:1$" + wzHex, m},

		// pbkdf2
		{"pbkdf2 a billion rounds", "pbkdf2:sha256:1000000000$PPDcgRAGkWSts6yf$" + sha256, u},
		{"pbkdf2-sha256 3,000,001 rounds", "pbkdf2:sha256:3000001$PPDcgRAGkWSts6yf$" + sha256, u},
		{"pbkdf2-sha512 1,000,001 rounds", "pbkdf2:sha512:1000001$PPDcgRAGkWSts6yf$" + sha256 + sha256, u},
		{"pbkdf2 above INT_MAX", "pbkdf2:sha256:99999999999$PPDcgRAGkWSts6yf$" + sha256, m},
		{"pbkdf2 zero rounds", "pbkdf2:sha256:0$PPDcgRAGkWSts6yf$" + sha256, m},
		{"pbkdf2 empty rounds", "pbkdf2:sha256:$PPDcgRAGkWSts6yf$" + sha256, m},
		{"pbkdf2 md5", "pbkdf2:md5:1000$PPDcgRAGkWSts6yf$" + sha256[:32], u},
		{"pbkdf2 extra arg", "pbkdf2:sha256:1000:1$PPDcgRAGkWSts6yf$" + sha256, m},
		{"pbkdf2 no digest", "pbkdf2:$PPDcgRAGkWSts6yf$" + sha256, u},
		{"pbkdf2 wrong length", "pbkdf2:sha512:1000$PPDcgRAGkWSts6yf$" + sha256, m},

		// bcrypt
		{"bcrypt cost 31", "$2b$31$" + bcBody, u},
		{"bcrypt cost 17", "$2b$17$" + bcBody, u},
		{"bcrypt cost 14", "$2b$14$" + bcBody, u},
		{"bcrypt cost 03", "$2b$03$" + bcBody, m},
		{"bcrypt cost 99", "$2b$99$" + bcBody, m},
		{"bcrypt cost sign", "$2b$+9$" + bcBody, m},
		{"bcrypt 2x", "$2x$10$" + bcBody, u},
		{"bcrypt short", "$2b$10$" + bcBody[1:], m},
		{"bcrypt bad char", "$2b$10$" + bcBody[:52] + "=", m},

		// other
		{"empty", "", m},
		{"plain", "plain$$secret", u},
		{"werkzeug hmac", "sha256$salt$" + sha256, u},
		{"huge", strings.Repeat("a", 10000), m},
		{"huge argon2", "$argon2id$v=19$m=65536,t=2,p=1$" + strings.Repeat("A", 1000) + "$" + a2key, m},
	}
	h := NewHasher(Options{})
	noWork(t, h)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ok, err := h.Verify(t.Context(), "secure_password", c.enc)
			if ok || !errors.Is(err, c.want) {
				t.Errorf("Verify(%q) = %v, %v; want %v", c.enc, ok, err, c.want)
			}
			if err := h.ValidateHash(c.enc); !errors.Is(err, c.want) {
				t.Errorf("ValidateHash = %v; want %v", err, c.want)
			}
			for _, secret := range []string{a2salt, a2key, wzHex[:16], sha256[:16], bcBody[:16], "LjDDhCaN", "PPDcgRAG"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Errorf("error %q repeats part of the stored hash", err)
				}
			}
			if !h.NeedsRehash(c.enc) {
				t.Error("NeedsRehash = false")
			}
		})
	}
}

// The work bounds come from a time budget (see defaultLimits): the costliest
// hashes inside them are accepted, one step more is refused before any work.
// With the bounds of before (bcrypt 16, argon2 p 16, scrypt 2^22, one
// PBKDF2 count for every digest) the refusals in TestTamperedHashesRefused
// fail; these catch bounds set too tight for hashes Flask apps store.
func TestWorkBoundsEdges(t *testing.T) {
	const (
		a2tail = "$QarnIHsp4OedbvYjdt0GeA$ApeykUmiC8LrYVKgp6gj+A"
		wzHex  = "fada684faed8c1cfdb3192fc338be52df55f90d634d1c8daf4e8b6677002fe344372e5e795d72bc42637ae4789209ffd4f9c9d039ecf45a73c1730fc88c7eb46"
		sha256 = "be7c94cd1ec286b3699ea3da349b4a21f345ba01693d5c69525a2c73a127e44e"
		bcBody = "MmOKP5H6RG2sLSLQqITuVed9PJ/U5bLQbX7uulvxcT1eKp9pO.olm"
	)
	h := NewHasher(Options{})
	for _, enc := range []string{
		"$2b$13$" + bcBody,
		"$argon2id$v=19$m=102400,t=2,p=8" + a2tail, // argon2-cffi before 21.2
		"$argon2id$v=19$m=65536,t=3,p=4" + a2tail,  // argon2-cffi 21.2 and later
		"$argon2id$v=19$m=262144,t=4,p=8" + a2tail,
		"scrypt:16384:8:16$LjDDhCaNACXqNv3u$" + wzHex, // N·r·p = 2^21
		"scrypt:131072:8:1$LjDDhCaNACXqNv3u$" + wzHex, // OWASP's strongest
		"pbkdf2:sha256:3000000$PPDcgRAGkWSts6yf$" + sha256,
		"pbkdf2:sha512:1000000$PPDcgRAGkWSts6yf$" + sha256 + sha256,
	} {
		if err := h.ValidateHash(enc); err != nil {
			t.Errorf("ValidateHash(%.40q…) = %v; want accepted", enc, err)
		}
	}
}

// The argon2 bounds grow to fit a Hasher's own parameters: hashes it made
// always verify, however costly it was told to be.
func TestLimitsFitOwnParams(t *testing.T) {
	p := Params{Memory: 512 * 1024, Iterations: 20, Parallelism: 32, SaltLength: 300, KeyLength: 200}
	l := defaultLimits().fit(p)
	if err := l.checkArgon2(p); err != nil {
		t.Fatal(err)
	}
	h := NewHasher(Options{Params: p})
	enc := argon2Hash{variant: argon2id, params: p, salt: make([]byte, 300), key: make([]byte, 200)}.String()
	if err := h.ValidateHash(enc); err != nil {
		t.Fatal(err)
	}
}
