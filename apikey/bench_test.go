package apikey_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkhq/bulwark/apikey"
)

// BenchmarkAuthenticate is the per-request check without the database:
// Parse, SHA-256, an in-memory lookup, the constant-time comparison, the
// expiry and revocation checks. The last use is fresh, so nothing is written.
func BenchmarkAuthenticate(b *testing.B) {
	st := newMemStore()
	key, _ := st.add(1, false, apikey.FilesRead)
	a, err := apikey.New(apikey.Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if _, err := a.Authenticate(ctx, key); err != nil { // writes the last use once
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
	if _, touches := st.counts(); touches != 1 {
		b.Fatalf("%d last-use writes, want 1", touches)
	}
}

// BenchmarkParse is what a malformed key costs: no hash, no lookup.
func BenchmarkParse(b *testing.B) {
	tok, _ := apikey.Generate()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := apikey.Parse(tok.Plaintext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandler is the whole middleware with Require, in-memory store.
func BenchmarkHandler(b *testing.B) {
	st := newMemStore()
	key, _ := st.add(1, false, apikey.FilesRead)
	a, err := apikey.New(apikey.Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Handler(a.Require(apikey.FilesRead, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	r := httptest.NewRequest("GET", "/files", nil)
	r.Header.Set("X-API-Key", key)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if w.Code != 200 {
		b.Fatal(w.Code)
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := apikey.Generate(); err != nil {
			b.Fatal(err)
		}
	}
}
