package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestCheckStrengthAcceptsRandomKeys(t *testing.T) {
	// 64 random hex characters (openssl rand -hex 32) MUST pass, every time.
	for i := 0; i < 2000; i++ {
		raw := make([]byte, 32)
		rand.Read(raw)
		for _, k := range [][]byte{
			[]byte(hex.EncodeToString(raw)),
			[]byte(strings.ToUpper(hex.EncodeToString(raw))),
			[]byte(base64.StdEncoding.EncodeToString(raw)),
			[]byte(base64.RawURLEncoding.EncodeToString(raw)),
			raw,
		} {
			if err := CheckStrength(k); err != nil {
				t.Fatalf("random key refused: %v (estimate %.1f bits)", err, estimateBits(k))
			}
		}
	}
	if err := CheckStrength([]byte(testKey)); err != nil {
		t.Fatal(err)
	}
}

func TestCheckStrengthRefusesWeakKeys(t *testing.T) {
	random := make([]byte, 32)
	rand.Read(random)
	rhex := hex.EncodeToString(random)
	tests := []struct {
		name string
		key  string
		want error
	}{
		{"changeme", "changeme", ErrKeyKnown},
		{"CHANGEME upper", "CHANGEME", ErrKeyKnown},
		{"quoted", `"changeme"`, ErrKeyKnown},
		{"dev", "dev", ErrKeyKnown},
		{"hardcoded-secret", "Hardcoded-Secret", ErrKeyKnown},
		{"flask quickstart sample", "192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf", ErrKeyKnown},
		{"flask quickstart sample upper", "192B9BDD22AB9ED4D12E236C78AFCB9A393EC15F71BBF5DC987D54727823BCBF", ErrKeyKnown},
		{"flask old sample", "_5#y2L\"F4Q8z\n\xec]/", ErrKeyKnown},
		{"django insecure", "django-insecure-" + rhex, ErrKeyKnown},
		{"placeholder in long key", "please-changeme-" + rhex, ErrKeyKnown},
		{"mega tutorial", "you-will-never-guess", ErrKeyKnown},
		{"short", rhex[:31], ErrKeyTooShort},
		{"empty", "", ErrKeyTooShort},
		{"aaaa", strings.Repeat("a", 64), ErrKeyLowEntropy},
		{"zeros then one", strings.Repeat("0", 63) + "1", ErrKeyLowEntropy},
		{"ab repeated", strings.Repeat("ab", 32), ErrKeyLowEntropy},
		{"short pattern repeated", strings.Repeat("s3Kr!t", 11), ErrKeyLowEntropy},
		{"pattern with tail", strings.Repeat("Tr0ub4dor&3", 3) + "xx", ErrKeyLowEntropy},
		{"random 8 repeated", strings.Repeat(rhex[:8], 8), ErrKeyLowEntropy},
		{"random 16 repeated", strings.Repeat(rhex[:16], 4), ErrKeyLowEntropy},
		{"alphabet", "abcdefghijklmnopqrstuvwxyz0123456789", ErrKeyLowEntropy},
		{"hex alphabet twice", "0123456789abcdef0123456789abcdef", ErrKeyLowEntropy},
		{"interleaved", "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8", ErrKeyLowEntropy},
		{"word repeated", strings.Repeat("secret", 8), ErrKeyLowEntropy},
		{"hand-typed hex", "9b2f4e6a8c0d1e3f5a7b9c1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f0a2b4c6d8e1f", ErrKeyLowEntropy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStrength([]byte(tt.key))
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckStrength = %v, want %v (estimate %.1f bits)", err, tt.want, estimateBits([]byte(tt.key)))
			}
			if len(tt.key) >= 4 && strings.Contains(err.Error(), tt.key) {
				t.Errorf("error echoes the key: %q", err)
			}
			var se *StrengthError
			if !errors.As(err, &se) || se.Err != tt.want || !strings.HasPrefix(err.Error(), "secrets: key ") {
				t.Fatalf("CheckStrength = %#v, want a *StrengthError wrapping %v", err, tt.want)
			}
			// Reason completes a sentence about a named key.
			if got, want := "SECRET_KEY "+se.Reason, "SECRET_KEY "+strings.TrimPrefix(tt.want.Error(), "secrets: key "); got != want || se.Reason == "" {
				t.Errorf("Reason %q", se.Reason)
			}
		})
	}
}

func TestStrengthErrorReasons(t *testing.T) {
	for err, want := range map[error]string{
		ErrKeyTooShort:   "is shorter than 32 bytes",
		ErrKeyKnown:      "is a well-known example value",
		ErrKeyLowEntropy: "has too little entropy (a repeated, sequential or small set of characters)",
	} {
		if se, ok := strengthErr(err).(*StrengthError); !ok || se.Reason != want {
			t.Errorf("%v: Reason %q, want %q", err, se.Reason, want)
		}
	}
}

func TestKnownKeysAreRefused(t *testing.T) {
	if len(knownKeys) < 20 {
		t.Fatalf("only %d known example values", len(knownKeys))
	}
	for _, k := range knownKeys {
		for _, v := range []string{k, asciiUpper(k), " " + k + "\n"} {
			if err := CheckStrength([]byte(v)); !errors.Is(err, ErrKeyKnown) {
				t.Errorf("CheckStrength(%q) = %v", v, err)
			}
		}
	}
}

func FuzzCheckStrength(f *testing.F) {
	for _, s := range []string{"", "a", "changeme", testKey, strings.Repeat("ab", 40), "\xff\xfe\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		err := CheckStrength(key)
		if err != nil && len(key) >= 12 && strings.Contains(err.Error(), string(key)) {
			t.Fatalf("error echoes the key: %q", err)
		}
		if err == nil && len(key) < MinKeyLen {
			t.Fatal("short key accepted")
		}
	})
}

func BenchmarkCheckStrength(b *testing.B) {
	k := []byte(testKey)
	for b.Loop() {
		_ = CheckStrength(k)
	}
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}
