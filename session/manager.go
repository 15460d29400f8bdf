package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Keys in the session data owned by this package. Application values live
// under valuePrefix, so they can never overwrite these.
const (
	keyUserID  = "session.user_id"
	keySeen    = "session.seen_ms" // Unix milliseconds: seconds are too coarse for short intervals
	keyCreated = "session.created"
)

// Config sets a Manager's lifetimes, cookie and hooks. The zero value of
// every field is a safe default.
type Config struct {
	// Lifetime is the absolute lifetime of a session, counted from sign-in
	// (or from the first value put in an anonymous session). Default 24h.
	// It also bounds a remembered session's cookie.
	Lifetime time.Duration
	// IdleTimeout ends a session unused for this long. Default 2h.
	IdleTimeout time.Duration
	// TouchInterval is how often last-seen is written; default 1m, and
	// never more than half of IdleTimeout, since idleness is measured from
	// the last write.
	TouchInterval time.Duration
	// MaxPerUser bounds a user's live sessions; signing in past it ends the
	// least recently used. Default 50.
	MaxPerUser int
	// Secure makes the cookie Secure and names it "__Host-" + CookieName,
	// so browsers refuse it from plain HTTP or a sibling domain.
	Secure bool
	// CookieName is the cookie's base name; default "bulwark_session".
	CookieName string
	// ClientIP gives the address recorded for a session; default RemoteAddr.
	ClientIP func(r *http.Request) string
	// ErrorHandler answers when the store or the index fails; default 503
	// with Retry-After. Sessions fail closed: a request is never served as
	// if signed out because the store could not be read.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// OnRenew, if set, runs after every change of the request's session
	// token: Login, RenewAndRevokeOthers and Logout (and Revoke of the
	// current session). Wire csrf.Rotate here once, so that no handler can
	// forget to rotate the CSRF secret with the session.
	OnRenew func(r *http.Request)
}

// Manager loads and saves sessions and tracks them per user. It is safe for
// concurrent use.
type Manager struct {
	scs   *scs.SessionManager
	store *hashedStore
	index Index
	cfg   Config
}

// New returns a Manager keeping session data in store (any scs store:
// sqlite3store, postgresstore, goredisstore, memstore) and the per-user
// index in index. store is used through a wrapper that names sessions by
// the hash of their token, so it never holds a token. New fails on a nil
// store or index and on a negative or invalid setting.
func New(store scs.Store, index Index, cfg Config) (*Manager, error) {
	if store == nil {
		return nil, errors.New("session: New needs a store")
	}
	if index == nil {
		return nil, errors.New("session: New needs an index")
	}
	if cfg.Lifetime < 0 || cfg.IdleTimeout < 0 || cfg.TouchInterval < 0 || cfg.MaxPerUser < 0 {
		return nil, errors.New("session: Lifetime, IdleTimeout, TouchInterval and MaxPerUser must not be negative")
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = 24 * time.Hour
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 2 * time.Hour
	}
	if cfg.TouchInterval == 0 {
		cfg.TouchInterval = time.Minute
	}
	if cfg.TouchInterval > cfg.IdleTimeout/2 {
		cfg.TouchInterval = cfg.IdleTimeout / 2
	}
	if cfg.MaxPerUser == 0 {
		cfg.MaxPerUser = 50
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "bulwark_session"
	}
	name := CookieName(cfg.CookieName, cfg.Secure)
	if err := (&http.Cookie{Name: name, Value: "x"}).Valid(); err != nil { // #nosec G124 -- only checks the name; never sent
		return nil, fmt.Errorf("session: cookie name %q: %w", cfg.CookieName, err)
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
	sm.Codec = codec{} // hashedStore decodes with the same codec
	sm.Store = &hashedStore{inner: store, index: index, codec: sm.Codec}
	sm.Lifetime = cfg.Lifetime
	sm.IdleTimeout = 0 // enforced by Handler, see the package comment
	sm.Cookie.Name = name
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = cfg.Secure
	sm.Cookie.Path = "/"
	sm.Cookie.Domain = "" // __Host- forbids a Domain attribute
	// A browser-session cookie unless the user asks to be remembered
	// (LoginOptions.Remember sets scs's per-session RememberMe).
	sm.Cookie.Persist = false
	sm.ErrorFunc = cfg.ErrorHandler
	return &Manager{scs: sm, store: sm.Store.(*hashedStore), index: index, cfg: cfg}, nil
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
	token := m.scs.Token(ctx)
	if token == "" {
		return nil // a new, empty session
	}
	now := time.Now()
	signedIn := m.scs.GetInt64(ctx, keyUserID) != 0
	seen := m.scs.GetInt64(ctx, keySeen)
	if seen != 0 && now.Sub(time.UnixMilli(seen)) > m.cfg.IdleTimeout {
		if err := m.scs.Destroy(ctx); err != nil {
			return fmt.Errorf("session: end idle session: %w", err)
		}
		if signedIn {
			if err := m.index.Remove(ctx, hashToken(token)); err != nil {
				return fmt.Errorf("session: index: %w", err)
			}
		}
		return nil
	}
	if now.Sub(time.UnixMilli(seen)) >= m.cfg.TouchInterval {
		// The index first: if it fails, the session keeps its older last-seen
		// time, so the index never shows a live session as idle.
		if signedIn {
			err := m.index.Touch(ctx, hashToken(token), now, m.cfg.ClientIP(r))
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

// LoginOptions are the choices a user makes when signing in.
type LoginOptions struct {
	// Remember keeps the session across browser restarts ("Keep me signed
	// in"): the cookie then carries Max-Age and Expires up to the end of
	// Config.Lifetime. Without it the cookie lasts for the browser session.
	// The server ends the session after Lifetime either way.
	Remember bool
}

// Login starts a signed-in session for userID with a new token, so that any
// token an attacker planted before login is worthless, and then runs
// Config.OnRenew.
//
// The session starts empty: values put before Login are dropped, because an
// attacker who planted the session knows them (a CSRF secret above all). Put
// what must outlive sign-in after calling Login.
//
// If the session cannot be indexed it is destroyed and Login fails, so there
// is never a signed-in session that "sign out everywhere" cannot reach.
func (m *Manager) Login(r *http.Request, userID int64, opts LoginOptions) error {
	if userID <= 0 {
		return fmt.Errorf("session: login: invalid user id %d", userID)
	}
	return m.login(r, userID, &opts)
}

// login renews the token and indexes the session for userID. With opts it
// starts the session afresh; without, it keeps the session's values
// (RenewAndRevokeOthers).
func (m *Manager) login(r *http.Request, userID int64, opts *LoginOptions) error {
	ctx := r.Context()
	old := m.scs.Token(ctx)
	wasSignedIn := m.scs.GetInt64(ctx, keyUserID) != 0
	if err := m.scs.RenewToken(ctx); err != nil { // deletes old from the store
		return fmt.Errorf("session: renew token: %w", err)
	}
	if opts != nil {
		if err := m.scs.Clear(ctx); err != nil {
			return fmt.Errorf("session: clear: %w", err)
		}
		m.scs.RememberMe(ctx, opts.Remember)
	}
	now := time.Now()
	m.scs.Put(ctx, keyUserID, userID)
	m.scs.Put(ctx, keySeen, now.UnixMilli())
	m.scs.Put(ctx, keyCreated, now.Unix())
	info := Info{
		Hash: hashToken(m.scs.Token(ctx)), UserID: userID, CreatedAt: now, LastSeen: now,
		Expiry: m.scs.Deadline(ctx), IP: m.cfg.ClientIP(r), UserAgent: CleanUserAgent(r.UserAgent()),
	}
	err := m.index.Add(ctx, info)
	if err == nil && wasSignedIn && old != "" {
		// RenewToken deleted its data; end also forgets it and undoes a
		// save by one of its requests still in flight.
		err = m.end(ctx, hashToken(old))
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
	_ = m.trim(ctx, userID, info.Hash)
	m.renewed(r)
	return nil
}

func (m *Manager) renewed(r *http.Request) {
	if m.cfg.OnRenew != nil {
		m.cfg.OnRenew(r)
	}
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
		if s.UserID != userID || s.Hash == keep {
			continue
		}
		if kept < m.cfg.MaxPerUser-1 {
			kept++
			continue
		}
		if err := m.end(ctx, s.Hash); err != nil {
			return err
		}
	}
	return nil
}

// Logout destroys the request's session on the server, clears its cookie
// and runs Config.OnRenew.
func (m *Manager) Logout(r *http.Request) error {
	ctx := r.Context()
	token := m.scs.Token(ctx)
	if err := m.scs.Destroy(ctx); err != nil {
		return fmt.Errorf("session: destroy: %w", err)
	}
	if token != "" {
		// Destroy deleted the data; end also forgets it and undoes a save
		// by another request of this session still in flight.
		if err := m.end(ctx, hashToken(token)); err != nil {
			return err
		}
	}
	m.renewed(r)
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
	current := ""
	if token := m.scs.Token(ctx); token != "" {
		current = hashToken(token)
	}
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
		s.Current = current != "" && s.Hash == current
		out = append(out, s)
	}
	return out, nil
}

// Revoke ends the user's session whose public ID (Info.ID) is id. Another
// user's session, or an unknown id, gives ErrNotFound. Revoking the
// request's own session is Logout.
func (m *Manager) Revoke(r *http.Request, userID int64, id string) error {
	list, err := m.Sessions(r.Context(), userID)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ID() == id {
			if s.Current {
				return m.Logout(r)
			}
			return m.end(r.Context(), s.Hash)
		}
	}
	return ErrNotFound
}

// RenewAndRevokeOthers gives the request's session a new token and ends every
// other session of the user, on whatever store holds them, then runs
// Config.OnRenew. Call it after a password change. The request's session
// keeps its data.
func (m *Manager) RenewAndRevokeOthers(r *http.Request, userID int64) error {
	ctx := r.Context()
	current := ""
	if token := m.scs.Token(ctx); token != "" {
		current = hashToken(token)
	}
	deleted := map[string]bool{current: true} // current goes with the renewal
	// Delete from the store before forgetting in the index: if the store
	// fails, the sessions stay listed and the call can be retried.
	list, err := m.index.List(ctx, userID, time.Now())
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	for _, s := range list {
		if s.UserID != userID || deleted[s.Hash] {
			continue
		}
		if err := m.store.deleteHash(ctx, s.Hash); err != nil {
			return err
		}
		deleted[s.Hash] = true
	}
	// RemoveAll also returns sessions started since List (and expired ones).
	hashes, err := m.index.RemoveAll(ctx, userID)
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	// Delete again after the index forgot them: a request of one of them
	// that was saving the session meanwhile is undone (see hashedStore).
	for _, h := range hashes {
		if h == current {
			continue
		}
		if err := m.store.deleteHash(ctx, h); err != nil {
			return err
		}
	}
	return m.login(r, userID, nil) // renews the token and indexes it
}

// end revokes one session by hash: store, index, store again. The second
// delete undoes a save by a request of this session that was in flight
// while the index still held it (see hashedStore.CommitCtx).
func (m *Manager) end(ctx context.Context, hash string) error {
	if err := m.store.deleteHash(ctx, hash); err != nil {
		return err
	}
	if err := m.index.Remove(ctx, hash); err != nil {
		return fmt.Errorf("session: index: %w", err)
	}
	return m.store.deleteHash(ctx, hash)
}
