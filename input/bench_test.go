package input

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"
)

var benchBody = []byte(`{"name":"Ada Lovelace","email":"ada@example.com","bio":"Mathematician; wrote the first published program.","password":"correct horse battery staple"}`)

// BenchmarkDecodeJSON is the API's path for POST /api/users: Content-Type
// check, capped read, strict v2 decode, validation.
func BenchmarkDecodeJSON(b *testing.B) {
	d := newDecoder(b, 0)
	r := httptest.NewRequest("POST", "/api/users", nil)
	r.Header.Set("Content-Type", "application/json")
	rd := bytes.NewReader(benchBody)
	r.Body = io.NopCloser(rd)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(benchBody)
		var u user
		if err := d.DecodeJSON(r, &u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeV1 is the baseline: encoding/json with
// DisallowUnknownFields and the same validator, which still matches names
// case-insensitively and keeps the last duplicate.
func BenchmarkDecodeV1(b *testing.B) {
	d := newDecoder(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		var u user
		dec := json.NewDecoder(io.LimitReader(bytes.NewReader(benchBody), 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&u); err != nil {
			b.Fatal(err)
		}
		if err := d.Validate(&u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate is the validation alone (the HTML form path).
func BenchmarkValidate(b *testing.B) {
	d := newDecoder(b, 0)
	pw := "correct horse battery staple"
	u := user{Name: "Ada Lovelace", Email: "ada@example.com", Bio: "Mathematician.", Password: &pw}
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Validate(&u); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeJSONInvalid is a refused body: the error path builds
// field names and messages.
func BenchmarkDecodeJSONInvalid(b *testing.B) {
	d := newDecoder(b, 0)
	body := []byte(`{"name":"","email":"not an email","password":"short"}`)
	r := httptest.NewRequest("POST", "/api/users", nil)
	r.Header.Set("Content-Type", "application/json")
	rd := bytes.NewReader(body)
	r.Body = io.NopCloser(rd)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		var u user
		if err := d.DecodeJSON(r, &u); err == nil {
			b.Fatal("accepted")
		}
	}
}
