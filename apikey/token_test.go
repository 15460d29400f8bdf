package apikey_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/apikey"
)

func TestGenerate(t *testing.T) {
	seen := map[string]bool{}
	counts := map[rune]int{}
	for range 2000 {
		tok, err := apikey.Generate()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok.Plaintext) != apikey.KeyLen || !strings.HasPrefix(tok.Plaintext, "bwk_") || len(tok.ID) != 8 {
			t.Fatalf("Generate = %q (id %q)", tok.Plaintext, tok.ID)
		}
		id, err := apikey.Parse(tok.Plaintext)
		if err != nil || id != tok.ID {
			t.Fatalf("Parse(Generate()) = %q, %v; want %q", id, err, tok.ID)
		}
		if seen[tok.Plaintext] || seen[tok.ID] {
			t.Fatal("Generate repeated itself")
		}
		seen[tok.Plaintext], seen[tok.ID] = true, true
		for _, c := range tok.Plaintext[4 : apikey.KeyLen-6] {
			counts[c]++
		}
	}
	// Every base62 character turns up, none far more than its share:
	// 2000 × 51 draws, 62 characters, about 1645 each.
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters, want 62", len(counts))
	}
	for c, n := range counts {
		if n < 1300 || n > 2000 {
			t.Errorf("character %q drawn %d times, want about 1645", c, n)
		}
	}
}

func TestTokenDoesNotPrintItself(t *testing.T) {
	tok, _ := apikey.Generate()
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok)} {
		if strings.Contains(s, tok.Plaintext[12:]) {
			t.Fatalf("printing a Token shows the key: %s", s)
		}
	}
}

// Remove the checksum comparison in Parse and typos parse.
func TestParseRefusesEveryOneCharacterTypo(t *testing.T) {
	tok, _ := apikey.Generate()
	key := tok.Plaintext
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	for i := 4; i < len(key); i++ {
		for _, c := range []byte{alphabet[(strings.IndexByte(alphabet, key[i])+1)%62], alphabet[(strings.IndexByte(alphabet, key[i])+31)%62]} {
			bad := key[:i] + string(c) + key[i+1:]
			if _, err := apikey.Parse(bad); !errors.Is(err, apikey.ErrMalformed) {
				t.Fatalf("Parse(%q, changed at %d) err = %v, want ErrMalformed", bad, i, err)
			}
		}
		if i+1 < len(key) && key[i] != key[i+1] {
			swapped := key[:i] + string(key[i+1]) + string(key[i]) + key[i+2:]
			if _, err := apikey.Parse(swapped); !errors.Is(err, apikey.ErrMalformed) {
				t.Fatalf("Parse(swapped at %d) err = %v, want ErrMalformed", i, err)
			}
		}
	}
}

func TestParseRefusesShapes(t *testing.T) {
	tok, _ := apikey.Generate()
	key := tok.Plaintext
	for _, bad := range []string{
		"", "bwk_", key[:60], key + "0", "BWK_" + key[4:], "bwk-" + key[4:], " " + key[1:],
		key[:30] + "é" + key[32:], key[:30] + "\x00" + key[31:], key[:30] + "_" + key[31:],
		strings.Repeat("0", apikey.KeyLen),
	} {
		id, err := apikey.Parse(bad)
		if !errors.Is(err, apikey.ErrMalformed) || id != "" || !strings.HasPrefix(err.Error(), "apikey: ") {
			t.Errorf("Parse(%q) = %q, %v; want ErrMalformed", bad, id, err)
		}
	}
}

func TestHash(t *testing.T) {
	a, _ := apikey.Generate()
	b, _ := apikey.Generate()
	ha, hb, again := apikey.Hash(a.Plaintext), apikey.Hash(b.Plaintext), apikey.Hash(a.Plaintext)
	if ha == hb || ha != again {
		t.Fatal("Hash is not a function of the key")
	}
	// The known SHA-256 of the empty string: Hash is plain SHA-256.
	if got := fmt.Sprintf("%x", apikey.Hash("")); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("Hash(\"\") = %s", got)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{"aB3dE6gH": true, "aB3dE6g": false, "aB3dE6gH9": false, "aB3dE6g_": false, "": false} {
		if apikey.ValidID(id) != want {
			t.Errorf("ValidID(%q) = %v", id, !want)
		}
	}
}

func TestScopes(t *testing.T) {
	for _, s := range apikey.AllScopes() {
		if got, err := apikey.ParseScope(string(s)); err != nil || got != s {
			t.Errorf("ParseScope(%q) = %q, %v", s, got, err)
		}
	}
	for _, bad := range []string{"", "users", "USERS:READ", " users:read", "users:*", "admin"} {
		if _, err := apikey.ParseScope(bad); !errors.Is(err, apikey.ErrUnknownScope) {
			t.Errorf("ParseScope(%q) err = %v", bad, err)
		}
	}
	if !apikey.AdminOnly(apikey.UsersWrite) || apikey.AdminOnly(apikey.UsersRead) || apikey.AdminOnly(apikey.FilesWrite) {
		t.Error("AdminOnly: only users:write is admin-only")
	}
	got, err := apikey.ParseScopes([]string{"files:write", "users:read", "files:write"}, false)
	if err != nil || !slices.Equal(got, []apikey.Scope{apikey.UsersRead, apikey.FilesWrite}) {
		t.Errorf("ParseScopes = %q, %v", got, err)
	}
	// Remove the AdminOnly check in ParseScopes and this fails.
	if _, err := apikey.ParseScopes([]string{"users:write"}, false); !errors.Is(err, apikey.ErrAdminOnly) {
		t.Errorf("users:write for a non-admin: err %v, want ErrAdminOnly", err)
	}
	if got, err := apikey.ParseScopes([]string{"users:write"}, true); err != nil || !slices.Equal(got, []apikey.Scope{apikey.UsersWrite}) {
		t.Errorf("users:write for an admin: %q, %v", got, err)
	}
	if _, err := apikey.ParseScopes(nil, true); err == nil {
		t.Error("no scopes accepted")
	}
	k := apikey.Key{Scopes: []apikey.Scope{apikey.FilesRead, apikey.UsersWrite}}
	if !k.Has(apikey.FilesRead) || k.Has(apikey.FilesWrite) || k.Has(apikey.UsersWrite) {
		t.Error("Has: wrong for a non-admin's key")
	}
	k.Admin = true
	if !k.Has(apikey.UsersWrite) {
		t.Error("Has(users:write) false for an admin's key")
	}
}
