package pages

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/secrets"
	"github.com/bulwarkhq/bulwark/session"
	"github.com/bulwarkhq/bulwark/totp"
)

// The second factor (README "Second factors").
//
// With TOTP on, a right password does not sign the browser in: it starts a
// half-signed-in state, a fresh anonymous session (new token) holding only
// the pending user, their credential version, the deadline (five minutes),
// and the "next" and "remember" choices. The session has no user id, so
// every signed-in check (signedIn, sessions.UserID, the CSRF secret's
// place) sees a visitor. POST /login/2fa with a right code (TOTP or
// recovery) calls finishSignIn, which signs in with yet another token.
//
// Codes are guessed against their own per-account budget
// (twoFactorLimit), charged before the check and refunded on success, as
// the password budgets are: the password is known by then, so the address
// and network of the guesser no longer matter.

// pendingLifetime is how long the half-signed-in state waits for a code.
const pendingLifetime = 5 * time.Minute

// twoFactorLimit is each account's budget of wrong second-factor codes.
// A guesser who knows the password gets 20 tries a day: with three TOTP
// codes valid at a time that is about one chance in 17,000 a day.
const twoFactorLimit = "5 per 15 minutes; 20 per day"

// issuer names the service in authenticator apps.
const issuer = "Bulwark"

// qrSize is the QR code's width and height in pixels.
const qrSize = 240

// twoFactor is what checks second-factor codes; the pages hold one.
type twoFactor struct {
	db     *store.DB
	sealer *secrets.Sealer
	// codeKeys hash recovery codes: HMAC-SHA256 keys derived from each
	// SECRET_KEY, the current first.
	codeKeys [][]byte
	limit    *ratelimit.Limiter
	pending  *session.Value
	now      func() time.Time
}

// newTwoFactor sets up the second factor of p, over o's keys and limits.
func newTwoFactor(o Options, p *Pages) (twoFactor, error) {
	tf := twoFactor{db: o.DB, now: o.Now, pending: p.sessions.Value("2fa.pending")}
	if tf.now == nil {
		tf.now = time.Now
	}
	var err error
	if tf.sealer, err = secrets.NewSealer("totp secret", o.SecretKeys...); err != nil {
		return tf, fmt.Errorf("pages: %w", err)
	}
	for _, k := range o.SecretKeys {
		ck, err := secrets.DeriveKey(k, "recovery codes")
		if err != nil {
			return tf, fmt.Errorf("pages: %w", err)
		}
		tf.codeKeys = append(tf.codeKeys, ck)
	}
	tf.limit, err = ratelimit.New(ratelimit.Options{
		Store: o.Limits, Limits: ratelimit.MustParse(twoFactorLimit), Name: "second-factor",
		Key: ratelimit.ByIP(o.IPs), Logger: o.Log, ErrorHandler: web.LimitErrors(p.errors), Observer: o.Meter,
	})
	if err != nil {
		return tf, fmt.Errorf("pages: second-factor limit: %w", err)
	}
	t, err := template.New("layout").Funcs(templateFuncs).ParseFS(templateFiles, "templates/layout.html", "templates/login_2fa.html")
	if err != nil {
		return tf, fmt.Errorf("pages: parse template login_2fa: %w", err)
	}
	p.templates["login_2fa"] = t
	return tf, nil
}

// codeHash is the stored form of a recovery code (canonical, from
// totp.ParseRecoveryCode) under one key.
//
// Keyed HMAC-SHA256 rather than plain SHA-256: the codes have 50 bits of
// entropy, few enough that a copy of the database alone (a backup, a
// replica) could be searched offline for them with unkeyed hashes; with
// the key from SECRET_KEY it cannot. Slow password hashes are not needed
// on top (50 random bits are no dictionary word), and they would make
// every attempt at /login/2fa cost an argon2id run. The price: codes
// stored under a SECRET_KEY that is dropped from the fallbacks stop
// working (the operator can run bulwark user reset-2fa).
func codeHash(key []byte, code string) [32]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(code))
	var h [32]byte
	m.Sum(h[:0])
	return h
}

// newRecoveryCodes makes a set of codes and their hashes under the
// current key.
func (tf *twoFactor) newRecoveryCodes() (codes []string, hashes [][32]byte, err error) {
	codes, err = totp.GenerateRecoveryCodes(totp.RecoveryCodeCount)
	if err != nil {
		return nil, nil, fmt.Errorf("recovery codes: %w", err)
	}
	for _, c := range codes {
		canon, err := totp.ParseRecoveryCode(c)
		if err != nil {
			return nil, nil, fmt.Errorf("recovery codes: %w", err)
		}
		hashes = append(hashes, codeHash(tf.codeKeys[0], canon))
	}
	return codes, hashes, nil
}

// sealAD binds a sealed secret to its user's row.
func sealAD(userID int64) []byte { return []byte("user:" + strconv.FormatInt(userID, 10)) }

// secret opens the sealed TOTP secret of k, and seals it again under the
// current key when a fallback key opened it.
func (tf *twoFactor) secret(ctx context.Context, k *store.TOTP) (string, error) {
	plain, stale, err := tf.sealer.Open(k.Sealed, sealAD(k.UserID))
	if err != nil {
		return "", fmt.Errorf("open totp secret of user %d: %w", k.UserID, err)
	}
	if stale {
		if _, err := tf.db.ResealTOTP(ctx, k.UserID, k.Sealed, tf.sealer.Seal(plain, sealAD(k.UserID))); err != nil {
			return "", err
		}
	}
	return string(plain), nil
}

// codeKind is how a second-factor code was accepted.
type codeKind int

const (
	byTOTP codeKind = iota + 1
	byRecoveryCode
)

// errWrongCode means a code was not accepted: wrong, replayed, malformed
// or already used. The visitor hears only that.
var errWrongCode = errors.New("wrong second-factor code")

// check accepts code for userID once: a TOTP code of a step later than
// the last accepted one (the step is then stored, so the same code is
// refused next time), or one of the user's unused recovery codes (deleted
// as it is accepted). Anything else is errWrongCode.
func (tf *twoFactor) check(ctx context.Context, userID int64, code string) (codeKind, error) {
	if c, err := totp.ParseCode(code); err == nil {
		k, err := tf.db.UserTOTP(ctx, userID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return 0, errWrongCode
		case err != nil:
			return 0, err
		case !k.Confirmed():
			return 0, errWrongCode
		}
		secret, err := tf.secret(ctx, k)
		if err != nil {
			return 0, err
		}
		step, err := totp.Validate(secret, c, k.LastStep, tf.now())
		if err != nil {
			return 0, errWrongCode
		}
		// Remove this to see TestTwoFactorReplay fail: another request
		// may have accepted the same step since k was read.
		ok, err := tf.db.AcceptTOTPStep(ctx, userID, step)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, errWrongCode
		}
		return byTOTP, nil
	}
	c, err := totp.ParseRecoveryCode(code)
	if err != nil {
		return 0, errWrongCode
	}
	hashes := make([][32]byte, len(tf.codeKeys))
	for i, key := range tf.codeKeys {
		hashes[i] = codeHash(key, c)
	}
	ok, err := tf.db.UseRecoveryCode(ctx, userID, hashes...)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, errWrongCode
	}
	return byRecoveryCode, nil
}

// charge takes one unit of the user's second-factor budget before a code
// is checked, and returns the function that gives it back when the code
// was right. A spent budget is a 429 and an event.
func (p *Pages) chargeTwoFactor(r *http.Request, userID int64) (refund func(), err error) {
	key := "2fa:" + strconv.FormatInt(userID, 10)
	d, err := p.twofactor.limit.Allow(r.Context(), key, 1)
	if err != nil {
		return nil, web.Unavailable("rate-limit store", err)
	}
	if !d.Allowed {
		p.events.Record(r, userID, store.EventSecondFactorThrottled)
		return nil, web.Limited(d)
	}
	return func() {
		// Best effort: a lost refund only makes the budget stricter.
		_, _ = p.twofactor.limit.Allow(context.WithoutCancel(r.Context()), key, -1)
	}, nil
}

// checkCode charges the budget and checks code for userID, recording a
// wrong code as an event and a used recovery code as another.
func (p *Pages) checkCode(r *http.Request, userID int64, code string) error {
	refund, err := p.chargeTwoFactor(r, userID)
	if err != nil {
		return err
	}
	kind, err := p.twofactor.check(r.Context(), userID, code)
	switch {
	case errors.Is(err, errWrongCode):
		p.events.Record(r, userID, store.EventSecondFactorFailure)
		return err
	case err != nil:
		refund() // not checked
		return err
	}
	refund()
	if kind == byRecoveryCode {
		p.events.Record(r, userID, store.EventRecoveryCodeUsed)
	}
	return nil
}

// needsSecondFactor reports whether signing in to userID takes a second
// step after the password: a confirmed TOTP key. (Passkeys as a second
// factor join here.)
func (p *Pages) needsSecondFactor(ctx context.Context, userID int64) (bool, error) {
	k, err := p.db.UserTOTP(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return k.Confirmed(), nil
}

// pendingSignIn is the half-signed-in state, kept in the session.
type pendingSignIn struct {
	UserID     int64  `json:"u"`
	Credential int64  `json:"v"` // the credential version the password was checked under
	Expires    int64  `json:"e"` // Unix seconds
	Next       string `json:"n,omitempty"`
	Remember   bool   `json:"r,omitempty"`
	Weak       bool   `json:"w,omitempty"` // the password failed today's policy: say so after sign-in
}

// beginSecondStep replaces the request's session with a fresh, anonymous
// one holding only ps, and sends the browser to /login/2fa.
func (p *Pages) beginSecondStep(w http.ResponseWriter, r *http.Request, ps pendingSignIn) error {
	// Logout destroys the old session (signed in or not) and rotates the
	// CSRF secret; the Put below starts a new session under a new token.
	if err := p.sessions.Logout(r); err != nil {
		return web.Unavailable("session store", err)
	}
	ps.Expires = p.twofactor.now().Add(pendingLifetime).Unix()
	b, err := json.Marshal(ps)
	if err != nil {
		return web.Internal(err)
	}
	p.twofactor.pending.Put(r.Context(), b)
	http.Redirect(w, r, "/login/2fa", http.StatusSeeOther)
	return nil
}

// pending returns the request's half-signed-in state, if it has one that
// has not expired.
func (p *Pages) pending(r *http.Request) (pendingSignIn, bool) {
	var ps pendingSignIn
	b := p.twofactor.pending.Get(r.Context())
	if b == nil || json.Unmarshal(b, &ps) != nil || ps.UserID <= 0 {
		return pendingSignIn{}, false
	}
	if p.twofactor.now().Unix() >= ps.Expires {
		return pendingSignIn{}, false
	}
	return ps, true
}

// pendingUser returns the user a half-signed-in request is signing in
// as: the password was right, a second factor is still due. Other second
// factors (a passkey) check theirs for this user, then call finishSignIn.
func (p *Pages) pendingUser(r *http.Request) (int64, bool) {
	ps, ok := p.pending(r)
	return ps.UserID, ok
}

// errNotPending means finishSignIn was called without a live
// half-signed-in state for the user.
var errNotPending = web.Unauthorized("Your sign-in took too long or was not started here. Please sign in again.")

// finishSignIn completes a half-signed-in request for userID after its
// second factor was checked: it signs the browser in with a new session
// token (with "remember" as chosen), records the sign-in and redirects to
// the "next" target. It refuses when the request is not half signed in
// as userID, or when the password changed since it was checked.
func (p *Pages) finishSignIn(w http.ResponseWriter, r *http.Request, userID int64) error {
	ps, ok := p.pending(r)
	if !ok || ps.UserID != userID {
		return errNotPending
	}
	ctx := r.Context()
	u, err := p.db.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return errNotPending
	} else if err != nil {
		return err
	}
	if u.CredentialVersion != ps.Credential {
		p.twofactor.pending.Put(ctx, nil)
		return errNotPending
	}
	// Login starts the session afresh: the pending state goes with the
	// old token.
	if err := p.startSession(w, r, u, session.LoginOptions{Remember: ps.Remember}); err != nil {
		return err
	}
	p.events.Record(r, u.ID, store.EventLoginSuccess)
	next := ps.Next
	if next == "" {
		next = "/account"
	}
	if ps.Weak {
		p.flashes.Put(ctx, []byte("Your password does not meet today's rules. Please choose a new one below."))
		next = "/account"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

type secondStepForm struct {
	Error   string
	Passkey bool // the account has a passkey to use instead (passkeys.go)
}

func (p *Pages) renderSecondStep(w http.ResponseWriter, r *http.Request, status int, f secondStepForm) error {
	// The visitor is not signed in: render issues tokens only to pages
	// it knows have forms, so this one asks for its token itself.
	f.Passkey = p.pendingHasPasskey(r)
	return p.render(w, r, status, "login_2fa", page{
		Title: "Second step", Data: f, CSRFToken: csrf.Token(r), CSRFField: csrf.TemplateField(r),
	})
}

// secondStepForm asks a half-signed-in visitor for their code.
func (p *Pages) secondStepForm(w http.ResponseWriter, r *http.Request) error {
	if _, ok := p.pending(r); !ok {
		p.twofactor.pending.Pop(r.Context())
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return p.renderSecondStep(w, r, http.StatusOK, secondStepForm{})
}

// secondStep checks the code of a half-signed-in visitor.
func (p *Pages) secondStep(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	ps, ok := p.pending(r)
	if !ok {
		p.twofactor.pending.Pop(r.Context())
		return errNotPending
	}
	switch err := p.checkCode(r, ps.UserID, r.PostForm.Get("code")); {
	case errors.Is(err, errWrongCode):
		return p.renderSecondStep(w, r, http.StatusUnauthorized, secondStepForm{
			Error: "That code is not right, or was already used. Try the next code your app shows, or a recovery code."})
	case err != nil:
		return err
	}
	return p.finishSignIn(w, r, ps.UserID)
}

// twoFactorView is the account page's second-factor section.
type twoFactorView struct {
	On        bool     // a confirmed TOTP key
	Pending   bool     // set up, waiting for the first code
	Secret    string   // the pending key's secret, to type in instead of scanning
	CodesLeft int      // unused recovery codes
	NewCodes  []string // recovery codes just made, shown this once
}

// fillTwoFactor completes v for the account page of userID.
func (p *Pages) fillTwoFactor(ctx context.Context, userID int64, v *twoFactorView) error {
	k, err := p.db.UserTOTP(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	if k.Confirmed() {
		v.On = true
		v.CodesLeft, err = p.db.RecoveryCodesLeft(ctx, userID)
		return err
	}
	// The secret is shown only while unconfirmed: once on, a stolen
	// session must not be able to copy the key.
	v.Pending = true
	v.Secret, err = p.twofactor.secret(ctx, k)
	return err
}

// startTOTP begins setting up TOTP: a new key, unconfirmed, replacing an
// earlier unconfirmed one.
func (p *Pages) startTOTP(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	key, err := totp.Generate(issuer, u.Email)
	if err != nil {
		return err
	}
	sealed := p.twofactor.sealer.Seal([]byte(key.Secret()), sealAD(u.ID))
	switch err := p.db.StartTOTP(r.Context(), u.ID, sealed); {
	case errors.Is(err, store.ErrDuplicate):
		return p.showAccount(w, r, http.StatusBadRequest, "Two-step sign-in is already on. Turn it off first to use another app.")
	case err != nil:
		return err
	}
	p.flashes.Put(r.Context(), []byte("Scan the QR code with your authenticator app, then enter the code it shows."))
	http.Redirect(w, r, "/account#two-step", http.StatusSeeOther)
	return nil
}

// totpQR serves the QR code of the unconfirmed key as a PNG from this
// origin: the CSP (img-src from default-src 'self') allows it, where a
// data: URL would need the policy loosened.
func (p *Pages) totpQR(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	k, err := p.db.UserTOTP(r.Context(), u.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.Confirmed()) {
		return web.NotFound("There is no two-step set-up in progress.")
	} else if err != nil {
		return err
	}
	secret, err := p.twofactor.secret(r.Context(), k)
	if err != nil {
		return err
	}
	key, err := totp.FromSecret(issuer, u.Email, secret)
	if err != nil {
		return err
	}
	img, err := key.PNG(qrSize)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(img) // the client may have gone
	return nil
}

// confirmTOTP turns TOTP on with the first code from the app, and shows
// the recovery codes once.
func (p *Pages) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	ctx := r.Context()
	u := currentUser(r)
	k, err := p.db.UserTOTP(ctx, u.ID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && k.Confirmed()) {
		return p.showAccount(w, r, http.StatusBadRequest, "There is no two-step set-up to confirm. Start again.")
	} else if err != nil {
		return err
	}
	refund, err := p.chargeTwoFactor(r, u.ID)
	if err != nil {
		return err
	}
	secret, err := p.twofactor.secret(ctx, k)
	if err != nil {
		refund()
		return err
	}
	step, err := totp.Validate(secret, r.PostForm.Get("code"), 0, p.twofactor.now())
	if err != nil {
		p.events.Record(r, u.ID, store.EventSecondFactorFailure)
		return p.showAccount(w, r, http.StatusBadRequest, "That code is not right. Check the app's clock and enter the code it shows now.")
	}
	refund()
	codes, hashes, err := p.twofactor.newRecoveryCodes()
	if err != nil {
		return err
	}
	switch err := p.db.ConfirmTOTP(ctx, u.ID, k.Sealed, step, hashes); {
	case errors.Is(err, store.ErrNotFound):
		return p.showAccount(w, r, http.StatusConflict, "The set-up changed meanwhile (another tab?). Start again.")
	case err != nil:
		return err
	}
	p.events.Record(r, u.ID, store.EventTOTPEnabled)
	return p.showAccountWith(w, r, http.StatusOK, accountData{TwoFactor: twoFactorView{NewCodes: codes}})
}

// disableTOTP turns TOTP off, given the password and a code (TOTP or
// recovery), so that a session left open is not enough.
func (p *Pages) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	u := currentUser(r)
	if ok, err := p.confirmPassword(r, u, "password", store.EventSecondFactorFailure); err != nil {
		return err
	} else if !ok {
		return p.showAccount(w, r, http.StatusBadRequest, "The password is not right.")
	}
	switch err := p.checkCode(r, u.ID, r.PostForm.Get("code")); {
	case errors.Is(err, errWrongCode):
		return p.showAccount(w, r, http.StatusBadRequest, "That code is not right, or was already used.")
	case err != nil:
		return err
	}
	if _, err := p.db.DisableTOTP(r.Context(), u.ID); err != nil {
		return err
	}
	p.events.Record(r, u.ID, store.EventTOTPDisabled)
	p.flashes.Put(r.Context(), []byte("Two-step sign-in is off. Your recovery codes no longer work."))
	http.Redirect(w, r, "/account#two-step", http.StatusSeeOther)
	return nil
}

// regenerateRecoveryCodes replaces the recovery codes, given the
// password, and shows the new ones once.
func (p *Pages) regenerateRecoveryCodes(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	ctx := r.Context()
	u := currentUser(r)
	if on, err := p.needsSecondFactor(ctx, u.ID); err != nil {
		return err
	} else if !on {
		return p.showAccount(w, r, http.StatusBadRequest, "Recovery codes come with two-step sign-in: turn it on first.")
	}
	if ok, err := p.confirmPassword(r, u, "password", store.EventSecondFactorFailure); err != nil {
		return err
	} else if !ok {
		return p.showAccount(w, r, http.StatusBadRequest, "The password is not right.")
	}
	codes, hashes, err := p.twofactor.newRecoveryCodes()
	if err != nil {
		return err
	}
	if err := p.db.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return err
	}
	p.events.Record(r, u.ID, store.EventRecoveryCodesRegenerated)
	return p.showAccountWith(w, r, http.StatusOK, accountData{TwoFactor: twoFactorView{NewCodes: codes}})
}
