package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
)

// codec is how session data is serialized: a small binary format for the
// only types a session holds here (int64 from the Manager, []byte from
// Value), read back without reflection. scs's default, encoding/gob, builds
// its type information again for every decode, which was an eighth of the
// CPU of a signed-in page (BenchmarkCodec compares them). Data that gob
// wrote before this codec existed is still read, so no session ends at an
// upgrade.
//
// Layout: codecMagic, the deadline (varint Unix nanoseconds), the number of
// values (uvarint), then per value: key (uvarint length, bytes), a type byte
// and the value (int64: varint; []byte and string: uvarint length, bytes;
// bool: one byte, 0 or 1).
// codecMagic can never begin a gob stream: gob starts with a byte under
// 0x80 or a negated byte count of 0xF8 to 0xFF.
type codec struct{ gob scs.GobCodec }

const codecMagic = 0xB1

const (
	typeInt64 = 'i'
	typeBytes = 'b'
	typeStr   = 's'
	typeBool  = 't' // scs's own remember-me flag
)

// maxSessionValues bounds what Decode allocates for a corrupt count.
const maxSessionValues = 1 << 10

func (c codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b := make([]byte, 0, 64)
	b = append(b, codecMagic)
	b = binary.AppendVarint(b, deadline.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		switch v := v.(type) {
		case int64:
			b = append(b, typeInt64)
			b = binary.AppendVarint(b, v)
		case []byte:
			b = append(b, typeBytes)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case bool:
			b = append(b, typeBool, 0)
			if v {
				b[len(b)-1] = 1
			}
		case string:
			b = append(b, typeStr)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		default:
			return nil, fmt.Errorf("session: cannot store a %T under %q", v, k)
		}
	}
	return b, nil
}

var errCorrupt = errors.New("session: corrupt session data")

func (c codec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) == 0 || b[0] != codecMagic {
		return c.gob.Decode(b)
	}
	r := reader{b: b[1:]}
	deadline := time.Unix(0, r.varint())
	n := r.uvarint()
	if r.bad || n > maxSessionValues {
		return time.Time{}, nil, errCorrupt
	}
	values := make(map[string]any, n)
	for range n {
		k := string(r.bytes())
		switch r.byte() {
		case typeInt64:
			values[k] = r.varint()
		case typeBytes:
			values[k] = r.bytes()
		case typeStr:
			values[k] = string(r.bytes())
		case typeBool:
			switch r.byte() {
			case 0:
				values[k] = false
			case 1:
				values[k] = true
			default:
				r.bad = true
			}
		default:
			r.bad = true
		}
		if r.bad {
			return time.Time{}, nil, errCorrupt
		}
	}
	if len(r.b) != 0 {
		return time.Time{}, nil, errCorrupt
	}
	return deadline, values, nil
}

// reader reads the codec's fields; bad records the first error.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes returns a copy of the next length-prefixed field.
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	v := make([]byte, n)
	copy(v, r.b)
	r.b = r.b[n:]
	return v
}
