// Package secrets keeps secret values (signing keys, database URLs with
// passwords, webhook keys) out of logs and error messages, loads them from
// the environment or from files the way container platforms hand them out,
// refuses weak keys, and creates a development key on first start.
//
// A [Secret] prints as "[redacted]" through every formatting path the
// standard library offers (fmt verbs, encoding/json, encoding.TextMarshaler,
// log/slog), so a configuration struct holding secrets can be logged whole.
// The bytes come out only through [Secret.Reveal], which makes every use
// easy to find in review.
package secrets

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// redacted is what every printing path shows instead of the secret.
const redacted = "[redacted]"

// Secret holds secret bytes. Its zero value holds nothing (see IsZero).
//
// The bytes are captured by a function value rather than stored in a field:
// fmt, encoding/json and other reflection-based printers cannot look inside
// a function, so even a Secret kept in an unexported struct field (on which
// fmt cannot call String or Format) prints as an address, never as its
// contents. For the same reason Secrets cannot be compared with ==; use
// Equal (constant time) or IsZero.
type Secret struct {
	bytes func() []byte // returns the stored slice itself; never nil when set
}

// New returns a Secret holding a copy of b. An empty b gives the zero Secret.
func New(b []byte) Secret {
	if len(b) == 0 {
		return Secret{}
	}
	c := make([]byte, len(b))
	copy(c, b)
	return Secret{bytes: func() []byte { return c }}
}

// raw returns the stored bytes without copying, for use inside the package.
func (s Secret) raw() []byte {
	if s.bytes == nil {
		return nil
	}
	return s.bytes()
}

// Reveal returns a copy of the secret bytes; changing the copy does not
// change the Secret. It is the only way to the bytes: its name makes every
// use stand out in review.
func (s Secret) Reveal() []byte {
	r := s.raw()
	if r == nil {
		return nil
	}
	c := make([]byte, len(r))
	copy(c, r)
	return c
}

// IsZero reports whether s holds no bytes.
func (s Secret) IsZero() bool { return len(s.raw()) == 0 }

// Len returns the number of secret bytes. Length is not treated as secret.
func (s Secret) Len() int { return len(s.raw()) }

// Equal reports whether s and t hold the same bytes, in time that depends
// only on their lengths.
func (s Secret) Equal(t Secret) bool {
	return subtle.ConstantTimeCompare(s.raw(), t.raw()) == 1
}

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (s Secret) GoString() string { return redacted }

// Format writes "[redacted]" for every verb and flag, so that %x, %q, %s,
// %v, %+v and %#v all hide the secret.
func (s Secret) Format(f fmt.State, verb rune) {
	_, _ = f.Write([]byte(redacted))
}

// MarshalJSON returns the JSON string "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) {
	return []byte(`"` + redacted + `"`), nil
}

// MarshalText returns "[redacted]"; encoding/xml, YAML encoders and
// slog's text handler use it.
func (s Secret) MarshalText() ([]byte, error) {
	return []byte(redacted), nil
}

// LogValue implements slog.LogValuer: a Secret logs as "[redacted]".
func (s Secret) LogValue() slog.Value {
	return slog.StringValue(redacted)
}

var (
	_ fmt.Stringer   = Secret{}
	_ fmt.GoStringer = Secret{}
	_ fmt.Formatter  = Secret{}
	_ slog.LogValuer = Secret{}
)
