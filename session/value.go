package session

import (
	"bytes"
	"context"

	"github.com/alexedwards/scs/v2"
)

// valuePrefix keeps application values apart from this package's own keys
// (the signed-in user, timestamps) and from scs's, whatever key is chosen.
const valuePrefix = "value."

// Value is one named value in the request's session: a CSRF secret, a
// one-time message, a credential version. Its methods must be called inside
// Manager.Handler. A *Value satisfies csrf.Store as it is:
//
//	csrf.New(csrf.Options{Store: sessions.Value("csrf.secret"), …})
type Value struct {
	sm  *scs.SessionManager
	key string
}

// Value returns the session value named key. Keys are the application's
// own: no key reaches the values this package keeps.
func (m *Manager) Value(key string) *Value {
	return &Value{sm: m.scs, key: valuePrefix + key}
}

// Get returns a copy of the value, or nil if the session has none.
func (v *Value) Get(ctx context.Context) []byte {
	return bytes.Clone(v.sm.GetBytes(ctx, v.key))
}

// Put stores a copy of b, and the session is saved at the end of the
// request. In a request without a session this starts one: server state and
// a cookie, so anonymous pages should not call it. Put with nil removes the
// value.
func (v *Value) Put(ctx context.Context, b []byte) {
	if b == nil {
		v.sm.Remove(ctx, v.key)
		return
	}
	v.sm.Put(ctx, v.key, bytes.Clone(b))
}

// Pop returns the value and removes it from the session, for one-time
// messages. Popping a value the session does not hold writes nothing.
func (v *Value) Pop(ctx context.Context) []byte {
	return v.sm.PopBytes(ctx, v.key)
}
