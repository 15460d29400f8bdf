package apikey_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/apikey"
)

// FuzzParse checks that no input makes Parse panic, and that whatever it
// accepts is a key's shape: 61 characters, the prefix, and an 8-character
// base62 id taken from the key itself. Generated keys must round-trip.
func FuzzParse(f *testing.F) {
	for range 4 {
		tok, err := apikey.Generate()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok.Plaintext)
		f.Add(tok.Plaintext[:60] + "0")
		f.Add(strings.ToUpper(tok.Plaintext))
		if id, err := apikey.Parse(tok.Plaintext); err != nil || id != tok.ID {
			f.Fatalf("Parse(Generate()) = %q, %v", id, err)
		}
	}
	f.Add("")
	f.Add("bwk_")
	f.Add("bwk_" + strings.Repeat("z", 57))
	f.Add("bwk_" + strings.Repeat("\xff", 57))
	f.Add(strings.Repeat("é", 31))
	f.Fuzz(func(t *testing.T, s string) {
		id, err := apikey.Parse(s)
		if err != nil {
			if id != "" {
				t.Fatalf("Parse(%q) returned id %q with error %v", s, id, err)
			}
			return
		}
		if len(s) != apikey.KeyLen || !strings.HasPrefix(s, apikey.Prefix) || !apikey.ValidID(id) || s[4:12] != id {
			t.Fatalf("Parse(%q) accepted it with id %q", s, id)
		}
	})
}

// FuzzHandler checks that no X-API-Key or Authorization value makes the
// middleware panic or let a request through without the one valid key.
func FuzzHandler(f *testing.F) {
	st := newMemStore()
	key, _ := st.add(1, false, apikey.FilesRead)
	f.Add(key, "")
	f.Add("", "Bearer "+key)
	f.Add("", "bearer\t"+key)
	f.Add("", "Basic "+key)
	f.Add(key[:60], "Bearer "+key)
	f.Add("\x00", "Bearer")
	a, err := apikey.New(apikey.Options{Store: st})
	if err != nil {
		f.Fatal(err)
	}
	h := a.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }))
	f.Fuzz(func(t *testing.T, xKey, auth string) {
		r := httptest.NewRequest("GET", "/", nil)
		if xKey != "" {
			r.Header["X-Api-Key"] = []string{xKey}
		}
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		switch rec.Code {
		case 299:
			if !strings.Contains(xKey+auth, key) {
				t.Fatalf("let through X-API-Key %q, Authorization %q", xKey, auth)
			}
		case 401:
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		default:
			t.Fatalf("status %d", rec.Code)
		}
	})
}
