package webhook

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseHeader checks that no header value makes ParseHeader panic, that
// every refusal is ErrMissing or ErrMalformed, and that what it accepts is
// within the bounds and means what the canonical form of it means.
func FuzzParseHeader(f *testing.F) {
	sig := strings.Repeat("ab", 32)
	for _, s := range []string{
		"t=1700000000,v1=" + sig,
		"t=1700000000, v1=" + sig + ", v1=" + strings.ToUpper(sig),
		"v0=x,t=1,v1=" + sig + ",v2=y",
		"t=1700000000" + strings.Repeat(",v1="+sig, 9),
		"t=01,v1=" + sig,
		"t=-1,v1=" + sig,
		"t=1,t=2,v1=" + sig,
		"t=99999999999999999999,v1=" + sig,
		"t=1,v1=" + sig[:63],
		"t=1,,v1=" + sig,
		"=,=",
		"",
		" ",
		"t=1,v1=" + sig + ",x=" + strings.Repeat("y", 4100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h, err := ParseHeader(v)
		if err != nil {
			if !errors.Is(err, ErrMissing) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseHeader(%q) = %v", v, err)
			}
			return
		}
		if len(v) > maxHeaderLen || h.Timestamp < 0 || len(h.Signatures) < 1 || len(h.Signatures) > maxSignatures {
			t.Fatalf("ParseHeader(%q) = %+v: out of bounds", v, h)
		}
		canon := "t=" + strconv.FormatInt(h.Timestamp, 10)
		for _, s := range h.Signatures {
			if len(s) != 32 {
				t.Fatalf("ParseHeader(%q): a %d-byte signature", v, len(s))
			}
			canon += ",v1=" + hex.EncodeToString(s)
		}
		h2, err := ParseHeader(canon)
		if err != nil || h2.Timestamp != h.Timestamp || len(h2.Signatures) != len(h.Signatures) {
			t.Fatalf("canonical form %q of %q: %+v, %v", canon, v, h2, err)
		}
		for i := range h.Signatures {
			if !bytes.Equal(h.Signatures[i], h2.Signatures[i]) {
				t.Fatalf("canonical form %q of %q differs", canon, v)
			}
		}
	})
}

// FuzzSign checks that every value Sign writes parses back to its
// timestamp and MAC.
func FuzzSign(f *testing.F) {
	f.Add([]byte("k"), int64(1700000000), []byte(`{}`))
	f.Add([]byte{}, int64(0), []byte{})
	f.Add([]byte("k"), int64(-1), []byte("x"))
	f.Fuzz(func(t *testing.T, secret []byte, ts int64, body []byte) {
		v := Sign(secret, time.Unix(ts, 0), body)
		h, err := ParseHeader(v)
		if ts < 0 {
			if err == nil {
				t.Fatalf("a negative timestamp parsed: %q", v)
			}
			return
		}
		if err != nil || h.Timestamp != ts || len(h.Signatures) != 1 || !bytes.Equal(h.Signatures[0], mac(secret, ts, body)) {
			t.Fatalf("Sign = %q, parsed %+v, %v", v, h, err)
		}
	})
}
