package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the request header that carries the signature.
const SignatureHeader = "X-Bulwark-Signature"

const (
	// maxHeaderLen bounds the header: eight v1 values take 8×68 bytes, so
	// 4 KiB leaves room for other schemes without letting a client make
	// the parser walk megabytes.
	maxHeaderLen = 4 << 10
	// maxSignatures bounds the v1 values, and so the HMAC comparisons a
	// request can ask for: a sender needs one per secret it signs with.
	maxSignatures = 8
)

// Header is a parsed signature header.
type Header struct {
	Timestamp  int64    // t=, Unix seconds
	Signatures [][]byte // the v1= values, 32 bytes each
}

// Sign returns the signature header value for body sent at t:
// "t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<body>">". Senders use it, and
// tests.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := t.Unix()
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// mac is the HMAC-SHA256 of "<ts>.<body>" under secret.
func mac(secret []byte, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	var prefix [24]byte
	m.Write(append(strconv.AppendInt(prefix[:0], ts, 10), '.'))
	m.Write(body)
	return m.Sum(nil)
}

// ParseHeader parses a signature header value. An empty value is
// ErrMissing; any other departure from the form Sign writes (spaces after
// commas aside) is ErrMalformed, with the reason in the message. Elements
// of schemes other than t and v1 are skipped.
func ParseHeader(v string) (Header, error) {
	if strings.TrimSpace(v) == "" {
		return Header{}, ErrMissing
	}
	if len(v) > maxHeaderLen {
		return Header{}, malformed("longer than %d bytes", maxHeaderLen)
	}
	var h Header
	seenT := false
	for part := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.Trim(part, " \t"), "=")
		if !ok || k == "" {
			return Header{}, malformed("an element is not key=value")
		}
		switch k {
		case "t":
			if seenT {
				return Header{}, malformed("more than one t")
			}
			ts, ok := parseUnix(val)
			if !ok {
				return Header{}, malformed("t is not Unix seconds")
			}
			h.Timestamp, seenT = ts, true
		case "v1":
			if len(h.Signatures) == maxSignatures {
				return Header{}, malformed("more than %d v1 values", maxSignatures)
			}
			if len(val) != 2*sha256.Size {
				return Header{}, malformed("a v1 value is not %d hex digits", 2*sha256.Size)
			}
			sig, err := hex.DecodeString(val)
			if err != nil {
				return Header{}, malformed("a v1 value is not hex")
			}
			h.Signatures = append(h.Signatures, sig)
		}
	}
	if !seenT {
		return Header{}, malformed("no t")
	}
	if len(h.Signatures) == 0 {
		return Header{}, malformed("no v1 value")
	}
	return h, nil
}

// parseUnix accepts decimal digits only, without sign or leading zero, so
// each timestamp has one spelling and the signed "<t>." is the header's.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	return ts, err == nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
