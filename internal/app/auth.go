package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
)

// loginFailed is the one message for every failed sign-in: an unknown email
// and a wrong password must look the same.
const loginFailed = "The email or password is not right."

type authForm struct {
	Email, Name, Next, Error string
	MinLength                int
}

func (a *App) registerForm(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "register", page{Title: "Create an account", Data: authForm{MinLength: a.policy.MinLength}})
}

func (a *App) register(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.badForm(w, r, err)
		return
	}
	f := authForm{
		Email:     strings.TrimSpace(r.PostForm.Get("email")),
		Name:      strings.TrimSpace(r.PostForm.Get("name")),
		MinLength: a.policy.MinLength,
	}
	again := func(msg string) {
		f.Error = msg
		a.render(w, r, http.StatusBadRequest, "register", page{Title: "Create an account", Data: f})
	}
	email, err := normalizeEmail(f.Email)
	if err != nil {
		again(err.Error())
		return
	}
	if msg := checkName(f.Name); msg != "" {
		again(msg)
		return
	}
	pw := r.PostForm.Get("password")
	if err := a.policy.Check(pw, email, f.Name); err != nil {
		again(policyMessage(err))
		return
	}
	hash, err := a.hasher.Hash(r.Context(), pw)
	if err != nil {
		a.hashFailed(w, r, err)
		return
	}
	u := &store.User{Email: email, Name: f.Name, PasswordHash: hash}
	switch err := a.db.CreateUser(r.Context(), u); {
	case errors.Is(err, store.ErrDuplicate):
		again("An account with this email already exists. Sign in instead.")
		return
	case err != nil:
		a.serverError(w, r, "create user", err)
		return
	}
	a.event(r, u.ID, "register", "")
	if !a.startSession(w, r, u.ID) {
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (a *App) loginForm(w http.ResponseWriter, r *http.Request) {
	f := authForm{Next: localPath(r.URL.Query().Get("next"))}
	a.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: f})
}

// login checks a password. The per-address limit runs before this handler;
// the per-account limit is checked here and charged only on failure, so a
// user who types the right password is not slowed by it.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.badForm(w, r, err)
		return
	}
	ctx := r.Context()
	f := authForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: localPath(r.PostForm.Get("next"))}
	pw := r.PostForm.Get("password")
	email := strings.ToLower(f.Email)
	account := a.accountKey(email)

	d, err := a.accountLimit.Allow(ctx, account, 0)
	if err != nil {
		a.limitUnavailable(w, r, err)
		return
	}
	if !d.Allowed {
		a.event(r, 0, "login_throttled", "")
		a.limited(w, r, d)
		return
	}

	u, err := a.db.UserByEmail(ctx, email)
	var ok bool
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The same work as a real check, so timing does not tell which
		// emails have accounts.
		if err := a.hasher.VerifyDummy(ctx, pw); errors.Is(err, password.ErrBusy) {
			a.hashFailed(w, r, err)
			return
		}
	case err != nil:
		a.serverError(w, r, "find user", err)
		return
	default:
		ok, err = a.hasher.Verify(ctx, pw, u.PasswordHash)
		switch {
		case errors.Is(err, password.ErrBusy):
			a.hashFailed(w, r, err)
			return
		case err != nil && !errors.Is(err, password.ErrTooLong):
			// An unreadable stored hash signs nobody in; the visitor sees
			// the usual failure and the operator a log line.
			a.logger(r).Error("stored password hash unusable", "user_id", u.ID, "error", err)
		}
	}
	if !ok {
		if _, err := a.accountLimit.Allow(ctx, account, 1); err != nil {
			a.limitUnavailable(w, r, err)
			return
		}
		var uid int64
		if u != nil {
			uid = u.ID
		}
		a.event(r, uid, "login_failure", "")
		f.Error = loginFailed
		a.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Data: f})
		return
	}
	if a.hasher.NeedsRehash(u.PasswordHash) {
		// Legacy or weaker hashes (Werkzeug, bcrypt, old parameters) are
		// upgraded now that the password is known.
		if hash, err := a.hasher.Hash(ctx, pw); err == nil {
			if err := a.db.SetPasswordHash(ctx, u.ID, hash); err != nil {
				a.logger(r).Error("upgrade password hash", "user_id", u.ID, "error", err)
			} else {
				a.event(r, u.ID, "password_rehashed", "")
			}
		}
	}
	a.event(r, u.ID, "login_success", "")
	if !a.startSession(w, r, u.ID) {
		return
	}
	next := f.Next
	if next == "" {
		next = "/account"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// startSession signs the request's browser in with a new session token and a
// new CSRF secret.
func (a *App) startSession(w http.ResponseWriter, r *http.Request, userID int64) bool {
	if err := a.sessions.Login(r, userID); err != nil {
		a.unavailable(w, r, "session store", err)
		return false
	}
	csrf.Rotate(r)
	return true
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if uid, ok := a.sessions.UserID(r.Context()); ok {
		a.event(r, uid, "logout", "")
	}
	if err := a.sessions.Logout(r.Context()); err != nil {
		a.unavailable(w, r, "session store", err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// accountKey names an account in the rate-limit store without storing the
// email itself there.
func (a *App) accountKey(email string) string {
	m := hmac.New(sha256.New, a.cfg.SecretKey.Reveal())
	m.Write([]byte("login-account\x00" + email))
	return "acct:" + hex.EncodeToString(m.Sum(nil)[:16])
}

// localPath returns next when it is a path on this site, else "". Anything
// a browser could read as another origin is refused: "//host", "/\host",
// schemes, and control characters (which browsers strip).
func localPath(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return ""
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

// normalizeEmail checks an address's form and returns it trimmed and in
// lower case, the form accounts are stored under.
func normalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", errors.New("Enter your email address (at most 254 characters).")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", errors.New("Enter an email address like name@example.com.")
	}
	return strings.ToLower(s), nil
}

// checkName returns a message when a display name is not acceptable.
func checkName(name string) string {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > 100 {
		return "Enter a name of 1 to 100 characters."
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "The name contains characters that cannot be used."
	}
	return ""
}

// checkBio returns a message when a bio is not acceptable.
func checkBio(bio string) string {
	if utf8.RuneCountInString(bio) > 500 {
		return "Keep the bio to 500 characters."
	}
	if !utf8.ValidString(bio) || strings.IndexFunc(bio, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0 {
		return "The bio contains characters that cannot be used."
	}
	return ""
}

func policyMessage(err error) string {
	var pe *password.PolicyError
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return "Choose another password."
}
