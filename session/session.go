// Package session keeps server-side sessions with secure defaults, on top of
// github.com/alexedwards/scs/v2.
//
// It fixes what scs leaves to each application: the cookie is Secure (with the
// __Host- prefix), HttpOnly and SameSite=Lax; the token is renewed at login,
// logout and password change so a session fixed before login is worthless;
// and a per-user index of sessions lets a user see where they are signed in
// and end one or all of those sessions on any store.
//
// The idle timeout is enforced here rather than by scs, because scs rewrites
// the whole session to its store on every request when it has an idle
// timeout. This package records the last-seen time at most once per
// TouchInterval instead.
package session

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"
)

// Keys in the session data owned by this package.
const (
	keyUserID  = "session.user_id"
	keySeen    = "session.seen_ms" // Unix milliseconds: seconds are too coarse for short intervals
	keyCreated = "session.created"
)

// maxUserAgent bounds the User-Agent kept in the index, in bytes.
const maxUserAgent = 256

// ErrNotFound is returned by Revoke for a session that is not the user's.
var ErrNotFound = errors.New("session: no such session")

// Info describes one live session of a user.
type Info struct {
	ID        string // public identifier: a hash of the token, safe to show and post back
	Token     string // the session token itself: never show it
	UserID    int64
	CreatedAt time.Time
	LastSeen  time.Time
	Expiry    time.Time
	IP        string
	UserAgent string
	Current   bool // the session of the request that asked
}

// Index records which sessions belong to which user, so that they can be
// listed and revoked. The session data itself lives in the scs store.
type Index interface {
	Add(ctx context.Context, s Info) error
	// Touch records use of a session. It returns an error wrapping
	// ErrNotFound when the token is not indexed: the session was revoked
	// (perhaps by another instance) and is ended.
	Touch(ctx context.Context, token string, lastSeen time.Time, ip string) error
	Remove(ctx context.Context, token string) error
	List(ctx context.Context, userID int64, now time.Time) ([]Info, error)
	// RemoveAll removes the user's sessions except keep and returns their tokens.
	RemoveAll(ctx context.Context, userID int64, keep string) ([]string, error)
}

// Config sets a Manager's lifetimes and cookie.
type Config struct {
	Lifetime    time.Duration // absolute; default 24h
	IdleTimeout time.Duration // default 2h
	// TouchInterval is how often last-seen is written; default 1m, and
	// never more than half of IdleTimeout, since idleness is measured from
	// the last write.
	TouchInterval time.Duration
	// MaxPerUser bounds a user's live sessions; signing in past it ends the
	// least recently used. Default 50.
	MaxPerUser int
	Secure     bool   // Secure cookie named "__Host-" + CookieName
	CookieName string // default "bulwark_session"
	// ClientIP gives the address recorded for a session; default RemoteAddr.
	ClientIP func(r *http.Request) string
	// ErrorHandler answers when the store fails; default 503. Sessions fail
	// closed: a request is never served as if signed out because the store
	// could not be read.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// Manager loads and saves sessions and tracks them per user.
type Manager struct {
	scs   *scs.SessionManager
	store scs.Store
	index Index
	cfg   Config
}

// New returns a Manager keeping session data in store and the per-user
// index in index.
func New(store scs.Store, index Index, cfg Config) *Manager {
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 24 * time.Hour
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Hour
	}
	if cfg.TouchInterval <= 0 {
		cfg.TouchInterval = time.Minute
	}
	if cfg.TouchInterval > cfg.IdleTimeout/2 {
		cfg.TouchInterval = cfg.IdleTimeout / 2
	}
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = 50
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "bulwark_session"
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = func(r *http.Request) string { return r.RemoteAddr }
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "The session store is unavailable. Please try again shortly.", http.StatusServiceUnavailable)
		}
	}
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = cfg.Lifetime
	sm.IdleTimeout = 0 // enforced by Handler, see the package comment
	sm.Cookie.Name = CookieName(cfg.CookieName, cfg.Secure)
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.Secure
	sm.Cookie.Path = "/"
	sm.Cookie.Domain = "" // __Host- forbids a Domain attribute
	sm.Cookie.Persist = true
	sm.ErrorFunc = cfg.ErrorHandler
	return &Manager{scs: sm, store: store, index: index, cfg: cfg}
}

// CookieName returns the cookie name used for base: "__Host-"+base when
// secure, so browsers refuse it from plain HTTP or a sibling domain.
func CookieName(base string, secure bool) string {
	if secure {
		return "__Host-" + base
	}
	return base
}

// Handler loads the request's session, enforces the idle timeout and saves
// changes. It must wrap every handler that uses the session. Responses are
// committed on their first write, so handlers should finish changing the
// session (including issuing CSRF tokens) before writing a body.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return m.scs.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.checkIdle(r); err != nil {
			m.cfg.ErrorHandler(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

func (m *Manager) checkIdle(r *http.Request) error {
	ctx := r.Context()
	if m.scs.Token(ctx) == "" {
		return nil // a new, empty session
	}
	now := time.Now()
	seen := m.scs.GetInt64(ctx, keySeen)
	if seen != 0 && now.Sub(time.UnixMilli(seen)) > m.cfg.IdleTimeout {
		token := m.scs.Token(ctx)
		signedIn := m.scs.GetInt64(ctx, keyUserID) != 0
		if err := m.scs.Destroy(ctx); err != nil {
			return fmt.Errorf("session: end idle session: %w", err)
		}
		if signedIn {
			if err := m.index.Remove(ctx, token); err != nil {
				return fmt.Errorf("session: index: %w", err)
			}
		}
		return nil
	}
	if now.Sub(time.UnixMilli(seen)) >= m.cfg.TouchInterval {
		// The index first: if it fails, the session keeps its older last-seen
		// time, so the index never shows a live session as idle.
		if m.scs.GetInt64(ctx, keyUserID) != 0 {
			err := m.index.Touch(ctx, m.scs.Token(ctx), now, m.cfg.ClientIP(r))
			if errors.Is(err, ErrNotFound) {
				// Revoked, but the store still held it: end it now.
				if err := m.scs.Destroy(ctx); err != nil {
					return fmt.Errorf("session: end revoked session: %w", err)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("session: touch: %w", err)
			}
		}
		m.scs.Put(ctx, keySeen, now.UnixMilli())
	}
	return nil
}

// Login starts a signed-in session for userID with a new token, so that any
// token an attacker planted before login is worthless.
//
// The session starts empty: values put before Login are dropped, because an
// attacker who planted the session knows them (a CSRF secret above all). Put
// what must outlive sign-in after calling Login.
//
// If the session cannot be indexed it is destroyed and Login fails, so there
// is never a signed-in session that "sign out everywhere" cannot reach.
func (m *Manager) Login(r *http.Request, userID int64) error {
	return m.login(r, userID, true)
}

func (m *Manager) login(r *http.Request, userID int64, clear bool) error {
	ctx := r.Context()
	old := m.scs.Token(ctx)
	wasSignedIn := m.scs.GetInt64(ctx, keyUserID) != 0
	if err := m.scs.RenewToken(ctx); err != nil { // deletes old from the store
		return fmt.Errorf("session: renew token: %w", err)
	}
	if clear {
		if err := m.scs.Clear(ctx); err != nil {
			return fmt.Errorf("session: clear: %w", err)
		}
	}
	now := time.Now()
	m.scs.Put(ctx, keyUserID, userID)
	m.scs.Put(ctx, keySeen, now.UnixMilli())
	m.scs.Put(ctx, keyCreated, now.Unix())
	info := Info{
		Token: m.scs.Token(ctx), UserID: userID, CreatedAt: now, LastSeen: now,
		Expiry: m.scs.Deadline(ctx), IP: m.cfg.ClientIP(r), UserAgent: cleanUserAgent(r.UserAgent()),
	}
	err := m.index.Add(ctx, info)
	if err == nil && wasSignedIn && old != "" {
		err = m.index.Remove(ctx, old) // its data went with RenewToken
	}
	if err != nil {
		// Fail closed: drop the new session rather than leave it unindexed.
		if derr := m.scs.Destroy(ctx); derr != nil {
			return fmt.Errorf("session: index: %w (and destroy: %v)", err, derr)
		}
		return fmt.Errorf("session: index: %w", err)
	}
	// Best effort: a store error here leaves extra sessions until the next
	// sign-in trims them, and must not undo this one.
	_ = m.trim(ctx, userID, info.Token)
	return nil
}

// trim ends the user's least recently used sessions beyond MaxPerUser, so
// that scripted sign-ins cannot grow the store without bound.
func (m *Manager) trim(ctx context.Context, userID int64, keep string) error {
	list, err := m.index.List(ctx, userID, time.Now())
	if err != nil || len(list) <= m.cfg.MaxPerUser {
		return err
	}
	sort.Slice(list, func(i, j int) bool { return list[i].LastSeen.After(list[j].LastSeen) })
	kept := 0
	for _, s := range list {
		if s.Token == keep || kept < m.cfg.MaxPerUser-1 && s.UserID == userID {
			if s.Token != keep {
				kept++
			}
			continue
		}
		if s.UserID != userID {
			continue
		}
		if err := m.end(ctx, s.Token); err != nil {
			return err
		}
	}
	return nil
}

// Logout destroys the session on the server; its cookie is cleared.
func (m *Manager) Logout(ctx context.Context) error {
	token := m.scs.Token(ctx)
	if err := m.scs.Destroy(ctx); err != nil {
		return fmt.Errorf("session: destroy: %w", err)
	}
	if token == "" {
		return nil
	}
	if err := m.index.Remove(ctx, token); err != nil {
		return fmt.Errorf("session: index: %w", err)
	}
	return nil
}

// UserID returns the signed-in user of the request's session.
func (m *Manager) UserID(ctx context.Context) (int64, bool) {
	id := m.scs.GetInt64(ctx, keyUserID)
	return id, id != 0
}

// Sessions lists the user's live sessions, marking the request's own.
func (m *Manager) Sessions(ctx context.Context, userID int64) ([]Info, error) {
	now := time.Now()
	list, err := m.index.List(ctx, userID, now)
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	current := m.scs.Token(ctx)
	out := list[:0]
	for _, s := range list {
		// Checked here too, not only trusted to the index: Revoke acts on
		// this list, and another user's session must never be on it.
		if s.UserID != userID {
			continue
		}
		// Sessions idle past the timeout are already dead; Handler ends
		// them when next presented.
		if !s.LastSeen.IsZero() && now.Sub(s.LastSeen) > m.cfg.IdleTimeout {
			continue
		}
		s.ID = publicID(s.Token)
		s.Current = current != "" && subtle.ConstantTimeCompare([]byte(s.Token), []byte(current)) == 1
		out = append(out, s)
	}
	return out, nil
}

// Revoke ends the user's session whose public ID is id.
func (m *Manager) Revoke(ctx context.Context, userID int64, id string) error {
	list, err := m.Sessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ID == id {
			if s.Current {
				return m.Logout(ctx)
			}
			return m.end(ctx, s.Token)
		}
	}
	return ErrNotFound
}

// RenewAndRevokeOthers gives the request's session a new token and ends every
// other session of the user, on whatever store holds them. Call it after a
// password change. The request's session keeps its data.
func (m *Manager) RenewAndRevokeOthers(r *http.Request, userID int64) error {
	ctx := r.Context()
	current := m.scs.Token(ctx)
	deleted := map[string]bool{current: true} // current goes with the renewal
	// Delete from the store before forgetting in the index: if the store
	// fails, the sessions stay listed and the call can be retried.
	list, err := m.index.List(ctx, userID, time.Now())
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	for _, s := range list {
		if s.UserID != userID || deleted[s.Token] {
			continue
		}
		if err := m.deleteToken(ctx, s.Token); err != nil {
			return err
		}
		deleted[s.Token] = true
	}
	// RemoveAll also returns sessions started since List (and expired ones).
	tokens, err := m.index.RemoveAll(ctx, userID, "")
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	for _, t := range tokens {
		if deleted[t] {
			continue
		}
		if err := m.deleteToken(ctx, t); err != nil {
			return err
		}
	}
	return m.login(r, userID, false) // renews the token and indexes it
}

func (m *Manager) end(ctx context.Context, token string) error {
	if err := m.deleteToken(ctx, token); err != nil {
		return err
	}
	if err := m.index.Remove(ctx, token); err != nil {
		return fmt.Errorf("session: index: %w", err)
	}
	return nil
}

func (m *Manager) deleteToken(ctx context.Context, token string) error {
	var err error
	if cs, ok := m.store.(scs.CtxStore); ok {
		err = cs.DeleteCtx(ctx, token)
	} else {
		err = m.store.Delete(token)
	}
	if err != nil {
		return fmt.Errorf("session: delete from store: %w", err)
	}
	return nil
}

// Bytes returns a value this request's session holds under key.
func (m *Manager) Bytes(ctx context.Context, key string) []byte { return m.scs.GetBytes(ctx, key) }

// SetBytes stores a value in the request's session.
func (m *Manager) SetBytes(ctx context.Context, key string, b []byte) { m.scs.Put(ctx, key, b) }

// publicID names a session without revealing its token.
func publicID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:12])
}

// cleanUserAgent makes a client's User-Agent safe to keep and show: valid
// UTF-8 (PostgreSQL refuses anything else, which would make Login fail), no
// control characters, at most maxUserAgent bytes cut on a rune boundary.
func cleanUserAgent(ua string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(ua, "\uFFFD") {
		if unicode.IsControl(r) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > maxUserAgent {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
