package pages

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/password/policy"
	"github.com/bulwarkhq/bulwark/session"
)

// loginFailed is the one message for every failed sign-in: an unknown email
// and a wrong password must look the same.
const loginFailed = "The email or password is not right."

type authForm struct {
	Email, Name, Next, Error string
	MinLength                int
}

func (p *Pages) registerForm(w http.ResponseWriter, r *http.Request) error {
	return p.render(w, r, http.StatusOK, "register", page{Title: "Create an account", Data: authForm{MinLength: p.policy.MinLength}})
}

func (p *Pages) register(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	f := authForm{
		Email:     strings.TrimSpace(r.PostForm.Get("email")),
		Name:      strings.TrimSpace(r.PostForm.Get("name")),
		MinLength: p.policy.MinLength,
	}
	again := func(msg string) error {
		f.Error = msg
		return p.render(w, r, http.StatusBadRequest, "register", page{Title: "Create an account", Data: f})
	}
	email, err := web.Email("email", f.Email)
	if err != nil {
		return again(fieldMessage(err))
	}
	name, err := web.Name("name", f.Name)
	if err != nil {
		return again(fieldMessage(err))
	}
	pw := r.PostForm.Get("password")
	if err := p.policy.Check(pw, email, name); err != nil {
		return again(policyMessage(err))
	}
	hash, err := p.hasher.Hash(r.Context(), pw)
	if err != nil {
		return hashError(err)
	}
	u := &store.User{Email: email, Name: name, PasswordHash: hash, EmailVerified: p.verification == config.VerificationNone}
	if p.verification == config.VerificationMandatory {
		// The same page for a free and a taken address (recovery.go).
		return p.registerMandatory(w, r, u, p.db.CreateUser(r.Context(), u))
	}
	switch err := p.db.CreateUser(r.Context(), u); {
	case errors.Is(err, store.ErrDuplicate):
		return again("An account with this email already exists. Sign in instead.")
	case err != nil:
		return err
	}
	p.events.Record(r, u.ID, store.EventRegister)
	if !u.EmailVerified {
		p.background(r, func(r *http.Request) { p.sendVerification(r, u) })
	}
	if err := p.startSession(w, r, u, session.LoginOptions{}); err != nil {
		return err
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

func (p *Pages) loginForm(w http.ResponseWriter, r *http.Request) error {
	f := authForm{Next: web.LocalPath(r.URL.Query().Get("next"))}
	return p.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: f})
}

// login checks a password. The per-address limit runs before this handler;
// the per-account budgets are charged here before the password is checked
// and refunded when it was right (see signin.go).
func (p *Pages) login(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	ctx := r.Context()
	start := time.Now()
	f := authForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: web.LocalPath(r.PostForm.Get("next"))}
	pw := r.PostForm.Get("password")

	u, err := p.db.UserByEmail(ctx, f.Email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = nil
	case err != nil:
		return err
	}
	refund, err := p.signin.charge(r, accountName(u), p.trustedDevice(r, u))
	if err != nil {
		p.events.Record(r, userID(u), store.EventLoginThrottled)
		return err
	}
	ok, err := p.checkPassword(ctx, u, pw)
	if err != nil {
		refund() // the password was not checked
		return err
	}
	if ok {
		err = p.upgradeHash(r, u, pw)
	}
	if !ok || errors.Is(err, errStaleHash) {
		p.events.Record(r, userID(u), store.EventLoginFailure)
		waitUntil(ctx, start.Add(failureFloor))
		f.Error = loginFailed
		return p.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Data: f})
	}
	refund()
	if !u.EmailVerified && p.verification == config.VerificationMandatory {
		// Under mandatory verification an unconfirmed account signs in
		// only by the mailed link: send a fresh one.
		p.sendVerification(r, u)
		return p.notice(w, r, http.StatusOK, checkInbox)
	}
	if on, err := p.needsSecondFactor(ctx, u.ID); err != nil {
		return err
	} else if on {
		// Not signed in yet: the code is asked for first (twofactor.go).
		return p.beginSecondStep(w, r, pendingSignIn{
			UserID: u.ID, Credential: u.CredentialVersion, Next: f.Next,
			Remember: r.PostForm.Get("remember") != "", Weak: p.policy.Check(pw, u.Email, u.Name) != nil,
		})
	}
	p.events.Record(r, u.ID, store.EventLoginSuccess)
	if err := p.startSession(w, r, u, session.LoginOptions{Remember: r.PostForm.Get("remember") != ""}); err != nil {
		return err
	}
	next := f.Next
	if next == "" {
		next = "/account"
	}
	if p.policy.Check(pw, u.Email, u.Name) != nil {
		// ASVS asks for today's policy at sign-in too: a weak (often
		// imported) password is not refused, but its owner is asked to
		// change it.
		p.flashes.Put(ctx, []byte("Your password does not meet today's rules. Please choose a new one below."))
		next = "/account"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// checkPassword verifies pw against u's hash, or does the same work against
// a dummy hash when u is nil, so timing does not tell which emails have
// accounts. An unreadable stored hash signs nobody in: the visitor sees
// the usual failure and the operator a log line.
func (p *Pages) checkPassword(ctx context.Context, u *store.User, pw string) (bool, error) {
	if u == nil {
		if err := p.hasher.VerifyDummy(ctx, pw); errors.Is(err, password.ErrBusy) {
			return false, web.Busy(err)
		}
		return false, nil
	}
	ok, err := p.hasher.Verify(ctx, pw, u.PasswordHash)
	switch {
	case errors.Is(err, password.ErrBusy):
		return false, web.Busy(err)
	case err != nil && !errors.Is(err, password.ErrTooLong):
		p.log.ErrorContext(ctx, "stored password hash unusable", "user_id", u.ID, "error", err)
	}
	return ok, nil
}

// upgradeHash rehashes a legacy or weaker hash (Werkzeug, bcrypt, old
// parameters) now that the password is known. The write is a compare and
// swap on the hash that was checked: errStaleHash means the password was
// changed meanwhile, and this sign-in used the old one.
func (p *Pages) upgradeHash(r *http.Request, u *store.User, pw string) error {
	ctx := r.Context()
	if !p.hasher.NeedsRehash(u.PasswordHash) {
		return nil
	}
	hash, err := p.hasher.Hash(ctx, pw)
	if err != nil {
		// Kept as it is until the next sign-in; said, so an operator
		// can see legacy hashes that stay.
		p.log.WarnContext(ctx, "password hash upgrade skipped", "user_id", u.ID, "error", err)
		return nil
	}
	switch err := p.db.RehashPassword(ctx, u.ID, u.PasswordHash, hash); {
	case errors.Is(err, store.ErrNotFound):
		return errStaleHash
	case err != nil:
		p.log.ErrorContext(ctx, "upgrade password hash", "user_id", u.ID, "error", err)
		return nil
	}
	p.events.Record(r, u.ID, store.EventPasswordRehashed)
	return nil
}

// startSession signs the request's browser in to u with a new session token
// (and, through OnRenew, a new CSRF secret), records the credential version
// the session belongs to, and marks the browser as one u signs in from.
func (p *Pages) startSession(w http.ResponseWriter, r *http.Request, u *store.User, opts session.LoginOptions) error {
	if err := p.sessions.Login(r, u.ID, opts); err != nil {
		return web.Unavailable("session store", err)
	}
	p.credentials.Put(r.Context(), []byte(strconv.FormatInt(u.CredentialVersion, 10)))
	p.setDeviceCookie(w, u.ID)
	// Signing in cancels a password reset in flight: whoever asked for it
	// remembered the password after all (or was not its owner).
	if err := p.db.DeleteTokens(r.Context(), u.ID, store.TokenResetPassword); err != nil {
		p.log.ErrorContext(r.Context(), "cancel password reset at sign-in", "user_id", u.ID, "error", err)
	}
	return nil
}

func (p *Pages) logout(w http.ResponseWriter, r *http.Request) error {
	if uid, ok := p.sessions.UserID(r.Context()); ok {
		p.events.Record(r, uid, store.EventLogout)
	}
	if err := p.sessions.Logout(r); err != nil {
		return web.Unavailable("session store", err)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func userID(u *store.User) int64 {
	if u == nil {
		return 0
	}
	return u.ID
}

// formError is the answer to a form body that cannot be read.
func formError(err error) error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return err // a 413, see web.AsError
	}
	return &web.Error{Status: http.StatusBadRequest, Err: err,
		Msg: "The form could not be read. Reload the page and try again."}
}

// hashError is the answer to a failed password hash: too many at once is a
// 503 with Retry-After (the bound that keeps a login flood from exhausting
// memory), an over-long password a 400.
func hashError(err error) error {
	switch {
	case errors.Is(err, password.ErrBusy):
		return web.Busy(err)
	case errors.Is(err, password.ErrTooLong):
		return web.BadRequest("That password is too long.")
	}
	return err
}

// fieldMessage is the user's text of a field error.
func fieldMessage(err error) string {
	if fe, ok := errors.AsType[*web.FieldError](err); ok {
		return fe.Detail
	}
	return "Check this field."
}

func policyMessage(err error) string {
	if pe, ok := errors.AsType[*policy.Error](err); ok {
		return pe.Reason
	}
	return "Choose another password."
}
