package session

import (
	"bytes"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

func TestCodecRoundTrip(t *testing.T) {
	deadline := time.Date(2026, 11, 30, 22, 0, 0, 123456789, time.UTC)
	values := map[string]any{
		keyUserID: int64(42), keySeen: int64(-1), "value.csrf.secret": []byte{0, 1, 0xff},
		"value.flash": []byte{}, "s": "text", "__rememberMe": true, "no": false,
	}
	b, err := codec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	got, vals, err := codec{}.Decode(b)
	if err != nil || !got.Equal(deadline) || len(vals) != len(values) {
		t.Fatalf("Decode = %v, %v, %v", got, vals, err)
	}
	for k, v := range values {
		if w, ok := v.([]byte); ok {
			if !bytes.Equal(vals[k].([]byte), w) {
				t.Errorf("%s = %v, want %v", k, vals[k], v)
			}
		} else if vals[k] != v {
			t.Errorf("%s = %v, want %v", k, vals[k], v)
		}
	}
	if _, err := (codec{}).Encode(deadline, map[string]any{"f": 1.5}); err == nil {
		t.Error("Encode accepted a type Decode cannot give back")
	}
}

// TestCodecReadsGob: sessions saved by scs's gob codec before an upgrade
// stay valid.
func TestCodecReadsGob(t *testing.T) {
	deadline := time.Now().Add(time.Hour).Round(0)
	b, err := scs.GobCodec{}.Encode(deadline, map[string]any{keyUserID: int64(7), "value.x": []byte("y")})
	if err != nil {
		t.Fatal(err)
	}
	got, vals, err := codec{}.Decode(b)
	if err != nil || !got.Equal(deadline) || vals[keyUserID] != int64(7) || string(vals["value.x"].([]byte)) != "y" {
		t.Fatalf("Decode(gob) = %v, %v, %v", got, vals, err)
	}
}

// FuzzCodecDecode: session data comes from the store, which an attacker
// with write access to Redis or the database could fill; no input may make
// Decode panic or allocate without bound, and what it accepts re-encodes.
func FuzzCodecDecode(f *testing.F) {
	b, _ := codec{}.Encode(time.Unix(1, 2), map[string]any{"a": int64(1), "b": []byte("x"), "c": "y"})
	f.Add(b)
	f.Add([]byte{codecMagic})
	f.Add([]byte{codecMagic, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{codecMagic, 0, 1, 1, 'k', 'b', 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != codecMagic {
			return // gob's own decoder, fuzzed upstream
		}
		deadline, vals, err := codec{}.Decode(data)
		if err != nil {
			return
		}
		again, err := codec{}.Encode(deadline, vals)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, vals2, err := (codec{}).Decode(again); err != nil || len(vals2) != len(vals) {
			t.Fatalf("round trip changed the values: %v", err)
		}
	})
}

// BenchmarkCodec compares this codec with scs's gob on a signed-in
// session's values.
func BenchmarkCodec(b *testing.B) {
	deadline := time.Now().Add(time.Hour)
	values := map[string]any{
		keyUserID: int64(42), keySeen: time.Now().UnixMilli(), keyCreated: time.Now().Unix(),
		"value.csrf.secret": bytes.Repeat([]byte{7}, 32), "value.credential_version": []byte("3"),
	}
	for _, c := range []struct {
		name  string
		codec scs.Codec
	}{{"bulwark", codec{}}, {"gob", scs.GobCodec{}}} {
		data, err := c.codec.Encode(deadline, values)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/decode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/encode", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.codec.Encode(deadline, values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
