package totp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// rfcSecret is RFC 6238 appendix B's SHA-1 seed, "12345678901234567890",
// in base32.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// The codes of RFC 6238's test vectors (their last six digits).
func TestRFC6238Vectors(t *testing.T) {
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := GenerateCode(rfcSecret, time.Unix(v.unix, 0))
		if err != nil || got != v.code {
			t.Errorf("at %d: %q, %v; want %q", v.unix, got, err, v.code)
		}
		step, err := Validate(rfcSecret, v.code, 0, time.Unix(v.unix, 0))
		if err != nil || step != Step(time.Unix(v.unix, 0)) {
			t.Errorf("validate at %d: step %d, %v", v.unix, step, err)
		}
	}
}

// A code is accepted once: after its step is stored, the same code is
// ErrReplayed. (Remove the step > lastStep check in Validate to see it
// accepted twice.)
func TestValidateRefusesReplay(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	code, _ := GenerateCode(rfcSecret, now)
	step, err := Validate(rfcSecret, code, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Validate(rfcSecret, code, step, now.Add(5*time.Second)); !errors.Is(err, ErrReplayed) {
		t.Fatalf("second use: %v, want ErrReplayed", err)
	}
	// An older code after a newer one was used is refused too.
	older, _ := GenerateCode(rfcSecret, now.Add(-Period))
	if _, err := Validate(rfcSecret, older, step, now); !errors.Is(err, ErrReplayed) {
		t.Fatalf("older step after a newer: %v, want ErrReplayed", err)
	}
	// The next step's code is fine.
	next, _ := GenerateCode(rfcSecret, now.Add(Period))
	if s, err := Validate(rfcSecret, next, step, now.Add(Period)); err != nil || s != step+1 {
		t.Fatalf("next step: %d, %v", s, err)
	}
}

// One step of skew either way is accepted, two are not: a code seen
// minutes ago is useless.
func TestValidateWindow(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		off time.Duration
		ok  bool
	}{{-2 * Period, false}, {-Period, true}, {0, true}, {Period, true}, {2 * Period, false}} {
		code, _ := GenerateCode(rfcSecret, now.Add(c.off))
		_, err := Validate(rfcSecret, code, 0, now)
		if (err == nil) != c.ok {
			t.Errorf("offset %v: %v", c.off, err)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("offset %v: %v, want ErrInvalid", c.off, err)
		}
	}
}

func TestValidateRefusesMalformed(t *testing.T) {
	now := time.Now()
	for _, code := range []string{"", "12345", "1234567", "12a456", "１２３４５６", strings.Repeat(" ", 100) + "123456"} {
		if _, err := Validate(rfcSecret, code, 0, now); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", code, err)
		}
	}
	if _, err := Validate("not base32!", "123456", 0, now); err == nil {
		t.Error("a bad secret was accepted")
	}
}

func TestParseCode(t *testing.T) {
	for in, want := range map[string]string{"123456": "123456", " 123 456 ": "123456", "12 34 56": "123456", "\t000000": "000000"} {
		if got, err := ParseCode(in); err != nil || got != want {
			t.Errorf("ParseCode(%q) = %q, %v", in, got, err)
		}
	}
}

func TestGenerateAndFromSecret(t *testing.T) {
	k, err := Generate("Bulwark", "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret()) != 32 || !strings.HasPrefix(k.URL(), "otpauth://totp/Bulwark:ann@example.com?") {
		t.Fatalf("secret %d chars, URL %s", len(k.Secret()), k.URL())
	}
	again, err := FromSecret("Bulwark", "ann@example.com", k.Secret())
	if err != nil || again.Secret() != k.Secret() || again.URL() != k.URL() {
		t.Fatalf("FromSecret: %v %v", err, again)
	}
	png, err := k.PNG(256)
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("PNG: %v", err)
	}
	if _, err := k.PNG(10_000); err == nil {
		t.Fatal("a huge QR code was rendered")
	}
	other, _ := Generate("Bulwark", "ann@example.com")
	if other.Secret() == k.Secret() {
		t.Fatal("two keys share a secret")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, err := GenerateRecoveryCodes(RecoveryCodeCount)
	if err != nil || len(codes) != RecoveryCodeCount {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != RecoveryCodeLen+1 || c[5] != '-' {
			t.Fatalf("display form %q", c)
		}
		canon, err := ParseRecoveryCode(c)
		if err != nil || len(canon) != RecoveryCodeLen || seen[canon] {
			t.Fatalf("parse %q: %q, %v", c, canon, err)
		}
		seen[canon] = true
		// Typed loosely, it is still the same code.
		loose := strings.ToUpper(c[:3]) + " " + strings.ReplaceAll(c[3:], "-", "")
		if got, err := ParseRecoveryCode(loose); err != nil || got != canon {
			t.Fatalf("loose %q: %q, %v", loose, got, err)
		}
	}
	if got, _ := ParseRecoveryCode("0l234-abcde"); got != "ol234abcde" {
		t.Fatalf("0 and 1 not read as o and l: %q", got)
	}
	for _, bad := range []string{"", "abcde", "abcde-fghijk", "abcde-fgh8j", "abcde_fghij", strings.Repeat("a", 100)} {
		if _, err := ParseRecoveryCode(bad); !errors.Is(err, ErrMalformedRecoveryCode) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
