package pages

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bulwarkhq/bulwark/clientip"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/session"
)

// Failed sign-ins are limited three ways (README "Login limits"):
//
//   - per client address, on every account together: RATELIMIT_LOGIN
//     (5 per minute), the route's own limiter;
//   - per account and client network (IPv4 /24, IPv6 /48), tightly:
//     accountNetworkLimit. One network cannot guess at an account for long;
//   - per account from anywhere, loosely: accountLimit. Guessing spread
//     over many networks is bounded too, and one network alone cannot spend
//     it (its tight budget refills at 20 an hour, slower than this one's 30),
//     so it cannot lock the owner out. A browser that has signed in to the
//     account before (the device cookie) is not held by it at all.
//
// Each attempt takes its unit before the password is checked and gives it
// back when the password was right, so attempts in flight at the same
// moment cannot get past the budget.
const (
	accountNetworkLimit = "5 per 15 minutes"
	accountLimit        = "30 per hour"
)

// unknownAccount is the one key under which attempts for emails with no
// account are counted, so that random emails cannot fill the limit store.
// It is spent like a real account's budget, so a guesser sees the same
// answers for a taken and a free address until it is.
const unknownAccount = "unknown"

// failureFloor is the least time a failed sign-in takes, so that the
// answer does not tell an unknown email (a dummy argon2id check), an
// imported Werkzeug account (pbkdf2 at 600,000 rounds, about 0.2 s) and an
// old weak hash (about 3 ms) apart. It covers every stored hash the
// password package accepts except bcrypt cost 13 (see BENCHMARKS.md).
const failureFloor = 400 * time.Millisecond

// signinBudgets are the per-account limits on failed sign-ins.
type signinBudgets struct {
	network, account *ratelimit.Limiter
}

// charge takes one unit of the account's budgets for an attempt from r
// before its password is checked. It returns the function that gives them
// back when the password was right, or a 429 when a budget is spent.
// trusted skips the loose per-account budget (a known device).
func (b signinBudgets) charge(r *http.Request, account string, trusted bool) (refund func(), err error) {
	ctx := r.Context()
	type charged struct {
		l   *ratelimit.Limiter
		key string
	}
	var done []charged
	refund = func() {
		for _, c := range done {
			// Best effort: a lost refund only makes the budget stricter.
			_, _ = c.l.Allow(context.WithoutCancel(ctx), c.key, -1)
		}
	}
	steps := []charged{{b.network, "acct:" + account + ":net:" + clientNetwork(r)}}
	if !trusted {
		steps = append(steps, charged{b.account, "acct:" + account})
	}
	for _, c := range steps {
		d, err := c.l.Allow(ctx, c.key, 1)
		if err != nil {
			refund()
			return nil, web.Unavailable("rate-limit store", err)
		}
		if !d.Allowed {
			refund()
			return nil, web.Limited(d)
		}
		done = append(done, c)
	}
	return refund, nil
}

// accountName is the account's name in the limit store: its id, or
// unknownAccount.
func accountName(u *store.User) string {
	if u == nil {
		return unknownAccount
	}
	return strconv.FormatInt(u.ID, 10)
}

// clientNetwork is the network of the request's client: IPv4 /24, IPv6 /48
// (a site's whole allocation), so that one network's addresses share one
// budget per account.
func clientNetwork(r *http.Request) string {
	a, ok := clientip.FromContext(r.Context())
	if !ok {
		return "unknown"
	}
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p.String()
}

// waitUntil sleeps until t, or until ctx ends.
func waitUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// The device cookie (OWASP "Slow Down Online Guessing Attacks with Device
// Cookies") marks a browser that has signed in to an account: the user id,
// a random nonce and an HMAC of both with SECRET_KEY. Its browser is not
// held by the loose per-account budget, so an attacker spending that budget
// does not lock the owner out of their usual browser.
const (
	deviceCookieName = "bulwark_device"
	deviceLifetime   = 365 * 24 * time.Hour
	deviceNonceLen   = 16
)

func (p *Pages) deviceCookieName() string {
	return session.CookieName(deviceCookieName, p.secureCookie)
}

// setDeviceCookie remembers that this browser signed in to userID.
func (p *Pages) setDeviceCookie(w http.ResponseWriter, userID int64) {
	buf := make([]byte, 8+deviceNonceLen, 8+deviceNonceLen+sha256.Size)
	binary.BigEndian.PutUint64(buf, uint64(userID)) // #nosec G115 -- user ids are positive; the bits are only compared
	rand.Read(buf[8:])
	buf = append(buf, deviceMAC(p.keys[0], buf)...)
	// #nosec G124 -- Secure follows secureCookie (off only for plain-HTTP development); HttpOnly and SameSite are set
	http.SetCookie(w, &http.Cookie{
		Name: p.deviceCookieName(), Value: base64.RawURLEncoding.EncodeToString(buf), Path: "/",
		MaxAge: int(deviceLifetime / time.Second), Secure: p.secureCookie, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// trustedDevice reports whether r carries a valid device cookie for u.
// Every key verifies (SECRET_KEY_FALLBACKS), so a key rotation does not
// make every browser a stranger.
func (p *Pages) trustedDevice(r *http.Request, u *store.User) bool {
	if u == nil {
		return false
	}
	c, err := r.Cookie(p.deviceCookieName())
	if err != nil {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c.Value)
	if err != nil || len(b) != 8+deviceNonceLen+sha256.Size {
		return false
	}
	msg, mac := b[:8+deviceNonceLen], b[8+deviceNonceLen:]
	if binary.BigEndian.Uint64(msg) != uint64(u.ID) { // #nosec G115 -- user ids are positive; the bits are only compared
		return false
	}
	for _, k := range p.keys {
		if hmac.Equal(mac, deviceMAC(k, msg)) {
			return true
		}
	}
	return false
}

func deviceMAC(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("bulwark device cookie\x00"))
	m.Write(msg)
	return m.Sum(nil)
}

// errStaleHash means the password changed while a sign-in was checking
// the old one.
var errStaleHash = errors.New("password changed during sign-in")
