package apikey_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
)

// keyTable is the smallest apikey.Store: a map. A service keeps keys in
// its database, indexed by ID.
type keyTable struct {
	mu   sync.Mutex
	keys map[string]apikey.Key
}

func (t *keyTable) KeyByID(_ context.Context, id string) (*apikey.Key, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.keys[id]
	if !ok {
		return nil, apikey.ErrNotFound
	}
	return &k, nil
}

func (t *keyTable) TouchKey(_ context.Context, id string, at time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := t.keys[id]
	k.LastUsed = at
	t.keys[id] = k
	return nil
}

func Example() {
	table := &keyTable{keys: map[string]apikey.Key{}}

	// Issue a key: show tok.Plaintext to its owner once, store only the hash.
	tok, err := apikey.Generate()
	if err != nil {
		panic(err)
	}
	scopes, err := apikey.ParseScopes([]string{"files:read"}, false)
	if err != nil {
		panic(err)
	}
	table.keys[tok.ID] = apikey.Key{ID: tok.ID, UserID: 42, Name: "backup script",
		Hash: apikey.Hash(tok.Plaintext), Scopes: scopes}

	auth, err := apikey.New(apikey.Options{Store: table})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /files", auth.Require(apikey.FilesRead, http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			k, _ := apikey.FromContext(r.Context())
			fmt.Fprintf(w, "files of user %d", k.UserID)
		})))
	mux.Handle("POST /files", auth.Require(apikey.FilesWrite, http.NotFoundHandler()))
	api := auth.Handler(mux)

	do := func(method, header string) {
		r := httptest.NewRequest(method, "/files", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(method, " ", rec.Code, " ", rec.Header().Get("WWW-Authenticate"))))
	}
	do("GET", "Bearer "+tok.Plaintext)
	do("POST", "Bearer "+tok.Plaintext)    // lacks files:write
	do("GET", "")                          // no key
	do("GET", "Bearer "+tok.Plaintext+"x") // a typo: refused before the table is read
	// Output:
	// GET 200
	// POST 403 Bearer realm="api", error="insufficient_scope", scope="files:write"
	// GET 401 Bearer realm="api"
	// GET 401 Bearer realm="api", error="invalid_token"
}

func ExampleParse() {
	tok, err := apikey.Generate()
	if err != nil {
		panic(err)
	}
	id, err := apikey.Parse(tok.Plaintext)
	fmt.Println(len(tok.Plaintext), id == tok.ID, err)

	_, err = apikey.Parse(tok.Plaintext[:apikey.KeyLen-1] + "!")
	fmt.Println(err)
	// Output:
	// 61 true <nil>
	// apikey: malformed key: want only letters and digits after bwk_
}

func ExampleParseScopes() {
	_, err := apikey.ParseScopes([]string{"files:read", "users:write"}, false)
	fmt.Println(err)
	scopes, err := apikey.ParseScopes([]string{"files:write", "users:write", "files:write"}, true)
	fmt.Println(scopes, err)
	// Output:
	// apikey: scope can be granted only to an administrator's key: users:write
	// [users:write files:write] <nil>
}
