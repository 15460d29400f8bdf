package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/bulwarkhq/bulwark/session"
)

// memIndex is a session.Index kept in memory. It suits one process; a
// service with several instances keeps its index in the shared database.
type memIndex struct {
	mu       sync.Mutex
	sessions map[string]session.Info // by token
}

func newMemIndex() *memIndex { return &memIndex{sessions: map[string]session.Info{}} }

func (x *memIndex) Add(_ context.Context, s session.Info) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sessions[s.Token] = s
	return nil
}

func (x *memIndex) Touch(_ context.Context, token string, lastSeen time.Time, ip string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.sessions[token]
	if !ok {
		return session.ErrNotFound // revoked
	}
	s.LastSeen, s.IP = lastSeen, ip
	x.sessions[token] = s
	return nil
}

func (x *memIndex) Remove(_ context.Context, token string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.sessions, token)
	return nil
}

func (x *memIndex) List(_ context.Context, userID int64, now time.Time) ([]session.Info, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []session.Info
	for _, s := range x.sessions {
		if s.UserID == userID && now.Before(s.Expiry) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func (x *memIndex) RemoveAll(_ context.Context, userID int64, keep string) ([]string, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	var tokens []string
	for token, s := range x.sessions {
		if s.UserID == userID && token != keep {
			tokens = append(tokens, token)
			delete(x.sessions, token)
		}
	}
	return tokens, nil
}

func Example() {
	// memstore suits one process; use goredisstore, postgresstore or
	// sqlite3store to keep sessions across restarts and instances.
	sessions := session.New(memstore.New(), newMemIndex(), session.Config{Secure: true})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		userID := int64(42) // after checking the password
		if err := sessions.Login(r, userID); err != nil {
			http.Error(w, "Could not sign you in. Please try again.", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		userID, ok := sessions.UserID(r.Context())
		if !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		fmt.Fprintf(w, "signed in as user %s", strconv.FormatInt(userID, 10))
	})
	handler := sessions.Handler(mux)

	// A browser signs in and gets the session cookie...
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/login", nil))
	cookie := rec.Result().Cookies()[0]
	fmt.Println(rec.Code, cookie.Name, "HttpOnly:", cookie.HttpOnly, "Secure:", cookie.Secure)

	// ...and presents it on its next request.
	req := httptest.NewRequest("GET", "https://example.com/account", nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output:
	// 303 __Host-bulwark_session HttpOnly: true Secure: true
	// signed in as user 42
}
