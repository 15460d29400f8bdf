package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// vector is one hash made by the real Python stack (see testdata).
type vector struct {
	Password      string `json:"password"`
	Hash          string `json:"hash"`
	MadeBy        string `json:"made_by"`
	WrongPassword string `json:"wrong_password"`
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	b, err := os.ReadFile("testdata/werkzeug-hashes.json")
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		Hashes []vector `json:"hashes"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	if len(f.Hashes) == 0 {
		tb.Fatal("no vectors")
	}
	return f.Hashes
}

// vectorMadeBy returns the first vector whose MadeBy is madeBy.
func vectorMadeBy(tb testing.TB, madeBy string) vector {
	tb.Helper()
	for _, v := range loadVectors(tb) {
		if v.MadeBy == madeBy {
			return v
		}
	}
	tb.Fatalf("no vector made by %q", madeBy)
	return vector{}
}

// fastParams make hashing cheap for tests that are not about the costs.
var fastParams = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// tinyLimits bound stored-hash work so tightly that any hash passing them
// verifies in about a millisecond; fuzzing uses them.
func tinyLimits() limits {
	return limits{
		encodedBytes:         512,
		argon2Memory:         256,
		argon2Time:           2,
		argon2Work:           512,
		argon2Threads:        4,
		scryptMemory:         128 * 1024,
		scryptWork:           2048,
		pbkdf2Iterations:     2000,
		pbkdf2WideIterations: 1000,
		bcryptCost:           4,
	}
}

// cheapHashes returns one hash per supported form with tiny work factors,
// all of password, made with the same primitives the formats name. They
// seed the fuzzer; compatibility with the real makers is checked by the
// vectors.
func cheapHashes(tb testing.TB, password string) []string {
	tb.Helper()
	h := NewHasher(Options{Params: fastParams})
	a, err := h.Hash(tb.Context(), password)
	if err != nil {
		tb.Fatal(err)
	}
	ai := argon2Hash{variant: argon2i, params: fastParams, salt: []byte("0123456789abcdef")}
	ai.key = ai.derive(password)
	ai.params.KeyLength = uint32(len(ai.key))

	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	sk, err := scrypt.Key([]byte(password), []byte("saltsalt"), 128, 1, 1, 64)
	if err != nil {
		tb.Fatal(err)
	}
	pk, err := pbkdf2.Key(sha256.New, password, []byte("saltsalt"), 10, sha256.Size)
	if err != nil {
		tb.Fatal(err)
	}
	return []string{
		a,
		ai.String(),
		string(b),
		fmt.Sprintf("scrypt:128:1:1$saltsalt$%x", sk),
		"pbkdf2:sha256:10$saltsalt$" + hex.EncodeToString(pk),
	}
}
