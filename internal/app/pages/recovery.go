package pages

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/mailer"
	"github.com/bulwarkhq/bulwark/session"
)

// Mailer takes a mail for delivery without waiting for it (a
// *mailer.Queue).
type Mailer interface {
	Enqueue(m mailer.Message) error
}

// Lifetimes of mailed links. A reset link is a password for half an hour;
// a verification link only confirms an address the owner typed.
const (
	resetLifetime  = 30 * time.Minute
	verifyLifetime = 24 * time.Hour
)

// Limits on password-reset mails beyond the per-address RATELIMIT_LOGIN
// of the route: per email address (the same for addresses with and
// without an account, so the 429 tells nothing), and per account (silent:
// over it, the page is the same and no mail leaves).
const (
	resetAddressLimit = "5 per hour"
	resetAccountLimit = "10 per day"
)

// maxBackground bounds the mail work running after its request answered.
const maxBackground = 32

// mailTokenLen is the length of a mailed token in bytes; its text is
// base64url without padding.
const mailTokenLen = 32

var mailTokenTextLen = base64.RawURLEncoding.EncodedLen(mailTokenLen)

// newMailToken returns a fresh token's text, for the link, and its SHA-256,
// for the database.
func newMailToken() (text string, hash []byte) {
	b := make([]byte, mailTokenLen)
	rand.Read(b) // never fails (crypto/rand)
	h := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(b), h[:]
}

// parseMailToken reads a token from a link and returns its SHA-256. It
// accepts exactly what newMailToken writes: 43 base64url characters
// decoding to 32 bytes, nothing more.
func parseMailToken(s string) (hash []byte, ok bool) {
	if len(s) != mailTokenTextLen {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != mailTokenLen {
		return nil, false
	}
	h := sha256.Sum256(b)
	return h[:], true
}

// link is an absolute link to path with a token, built from BASE_URL and
// never from the request's Host header, which the client chooses (a reset
// link pointing at an attacker's host would hand them the token).
func (p *Pages) link(path, token string) string {
	return p.baseURL + path + "?token=" + token
}

// mailTo queues m; a failure is logged (without the body, which may hold a
// token) and the user sees the same page.
func (p *Pages) mailTo(ctx context.Context, m mailer.Message) {
	if p.mail == nil {
		p.log.WarnContext(ctx, "mail not sent: SMTP_URL is not set", "subject", m.Subject)
		return
	}
	if err := p.mail.Enqueue(m); err != nil {
		p.log.ErrorContext(ctx, "mail not queued", "subject", m.Subject, "error", err)
	}
}

// background runs job after the response, with a copy of r whose context
// outlives it, so that the answer takes the same time whatever the job
// finds (an account or none). Jobs beyond maxBackground are dropped and
// logged: the limits in front of them make that rare.
func (p *Pages) background(r *http.Request, job func(r *http.Request)) {
	select {
	case p.bgSlots <- struct{}{}:
	default:
		p.log.WarnContext(r.Context(), "mail work dropped: too much at once", "path", r.URL.Path)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	r2 := r.Clone(ctx)
	go func() {
		defer func() { cancel(); <-p.bgSlots }()
		// Start once the response is out: run at once, the job's lookup,
		// write and mail compete with the answer for the CPU and made the
		// answer for a known address about 0.3 ms slower than for an
		// unknown one (BenchmarkRecoveryTiming).
		t := time.NewTimer(backgroundDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		job(r2)
	}()
}

// backgroundDelay is how long background work waits for the response to
// leave before it starts.
const backgroundDelay = 20 * time.Millisecond

// issueAndMail stores a new token for u (superseding older ones of the
// purpose) and mails its link to email.
func (p *Pages) issueAndMail(ctx context.Context, u *store.User, purpose store.TokenPurpose, email string, m func(link string) mailer.Message) error {
	life, path := verifyLifetime, "/verify-email"
	if purpose == store.TokenResetPassword {
		life, path = resetLifetime, "/password/reset"
	}
	text, hash := newMailToken()
	now := p.now()
	err := p.db.IssueToken(ctx, hash, store.EmailToken{
		UserID: u.ID, Purpose: purpose, Email: email, CredentialVersion: u.CredentialVersion,
		CreatedAt: now, ExpiresAt: now.Add(life),
	})
	if err != nil {
		return err
	}
	msg := m(p.link(path, text))
	msg.To = store.NormalizeEmail(email)
	p.mailTo(ctx, msg)
	return nil
}

// sendVerification mails u a link that confirms their address.
func (p *Pages) sendVerification(r *http.Request, u *store.User) {
	ctx := r.Context()
	err := p.issueAndMail(ctx, u, store.TokenVerifyEmail, u.Email, func(link string) mailer.Message {
		return mailer.Message{Subject: "Confirm your email address", Body: "Hello " + u.Name + ",\n\n" +
			"Follow this link to confirm your email address:\n\n" + link + "\n\n" +
			"The link works once, for 24 hours. If you did not create an account, ignore this mail.\n"}
	})
	if err != nil {
		p.log.ErrorContext(ctx, "send verification", "user_id", u.ID, "error", err)
		return
	}
	p.events.Record(r, u.ID, store.EventVerificationSent)
}

// noticeData is a page with one message, and perhaps a link.
type noticeData struct {
	Heading, Message string
	Link, LinkText   string
}

func (p *Pages) notice(w http.ResponseWriter, r *http.Request, status int, d noticeData) error {
	return p.render(w, r, status, "notice", page{Title: d.Heading, Data: d})
}

// checkInbox is the answer to a mandatory-verification sign-up, the same
// for a free and a taken address.
var checkInbox = noticeData{
	Heading: "Check your inbox",
	Message: "We have sent a mail to the address you entered. Follow the link in it to finish signing up.",
}

// registerMandatory ends a sign-up under EMAIL_VERIFICATION=mandatory.
// created is the result of CreateUser. A new account gets a link that
// signs it in; the owner of a taken address gets a notice. The page is the
// same for both, and the mail work runs after it, so that the answer tells
// nobody which addresses have accounts.
func (p *Pages) registerMandatory(w http.ResponseWriter, r *http.Request, u *store.User, created error) error {
	switch {
	case created == nil:
		p.events.Record(r, u.ID, store.EventRegister)
		p.background(r, func(r *http.Request) { p.sendVerification(r, u) })
	case errors.Is(created, store.ErrDuplicate):
		email := u.Email
		p.background(r, func(r *http.Request) {
			p.mailTo(r.Context(), mailer.Message{To: store.NormalizeEmail(email), Subject: "Someone tried to sign up with your address",
				Body: "Hello,\n\nSomeone (perhaps you) tried to create an account with this address, which already has one.\n\n" +
					"If it was you, sign in at " + p.baseURL + "/login, or choose a new password at " + p.baseURL + "/password/forgot.\n" +
					"If it was not you, ignore this mail: nothing has changed.\n"})
		})
	default:
		return created
	}
	return p.notice(w, r, http.StatusOK, checkInbox)
}

// verifyEmail follows a mailed verification or change link.
func (p *Pages) verifyEmail(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in this URL
	hash, ok := parseMailToken(r.URL.Query().Get("token"))
	if !ok {
		return p.badLink(w, r, "/login")
	}
	t, first, err := p.db.ConfirmEmail(r.Context(), hash, p.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return p.badLink(w, r, "/account")
	case errors.Is(err, store.ErrDuplicate):
		return p.notice(w, r, http.StatusConflict, noticeData{Heading: "Address taken",
			Message: "That address belongs to another account by now, so yours was not changed."})
	case err != nil:
		return err
	}
	kind := store.EventEmailVerified
	if t.Purpose == store.TokenChangeEmail {
		kind = store.EventEmailChanged
	}
	p.events.Record(r, t.UserID, kind)
	uid, signedIn := p.sessions.UserID(r.Context())
	if t.Purpose == store.TokenVerifyEmail && first && p.verification == config.VerificationMandatory && (!signedIn || uid != t.UserID) {
		// Under mandatory verification this link is how a new account
		// signs in, once: a new session token, a new CSRF secret.
		u, err := p.db.UserByID(r.Context(), t.UserID)
		if err != nil {
			return err
		}
		if err := p.startSession(w, r, u, session.LoginOptions{}); err != nil {
			return err
		}
		p.flashes.Put(r.Context(), []byte("Your email address is confirmed. Welcome!"))
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	if signedIn && uid == t.UserID {
		p.flashes.Put(r.Context(), []byte("Your email address is confirmed."))
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	return p.notice(w, r, http.StatusOK, noticeData{Heading: "Address confirmed",
		Message: "Your email address is confirmed.", Link: "/login", LinkText: "Sign in"})
}

func (p *Pages) badLink(w http.ResponseWriter, r *http.Request, next string) error {
	return p.notice(w, r, http.StatusBadRequest, noticeData{Heading: "Link not valid",
		Message: "This link has been used, has expired, or has been replaced by a newer one.",
		Link:    next, LinkText: "Continue"})
}

// resendVerification mails the signed-in user a new verification link.
func (p *Pages) resendVerification(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	if u.EmailVerified {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	if d, err := p.resetLimits.account.Allow(r.Context(), "verify:"+strconv.FormatInt(u.ID, 10), 1); err != nil {
		return web.Unavailable("rate-limit store", err)
	} else if !d.Allowed {
		return web.Limited(d)
	}
	p.sendVerification(r, u)
	p.flashes.Put(r.Context(), []byte("We have sent a new link to "+u.Email+"."))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// changeEmail starts an address change: it needs the current password, and
// the new address takes effect only when the link mailed to it is
// followed. The old address is told at once. If the new address belongs to
// another account, its owner gets a notice instead of a link, and the page
// says the same as for a free address.
func (p *Pages) changeEmail(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	ctx := r.Context()
	u := currentUser(r)
	if ok, err := p.confirmPassword(r, u, "current_password", store.EventPasswordChangeFailure); err != nil {
		return err
	} else if !ok {
		return p.showAccount(w, r, http.StatusBadRequest, "The current password is not right.")
	}
	email, err := web.Email("email", r.PostForm.Get("email"))
	if err != nil {
		return p.showAccount(w, r, http.StatusBadRequest, fieldMessage(err))
	}
	email = store.NormalizeEmail(email)
	if email == u.Email {
		return p.showAccount(w, r, http.StatusBadRequest, "That is already your address.")
	}
	switch _, err := p.db.UserByEmail(ctx, email); {
	case err == nil:
		p.mailTo(ctx, mailer.Message{To: email, Subject: "Someone tried to use your address",
			Body: "Hello,\n\nSomeone tried to move another account to this address, which already has an account. " +
				"Nothing has changed. If it was you, sign in at " + p.baseURL + "/login.\n"})
	case errors.Is(err, store.ErrNotFound):
		err := p.issueAndMail(ctx, u, store.TokenChangeEmail, email, func(link string) mailer.Message {
			return mailer.Message{Subject: "Confirm your new email address", Body: "Hello " + u.Name + ",\n\n" +
				"Follow this link to make this your account's address:\n\n" + link + "\n\n" +
				"The link works once, for 24 hours. If you did not ask for this, ignore this mail.\n"}
		})
		if err != nil {
			return err
		}
	default:
		return err
	}
	p.mailTo(ctx, mailer.Message{To: u.Email, Subject: "Your email address is being changed",
		Body: "Hello " + u.Name + ",\n\nSomeone signed in to your account asked to change its address to " + email + ". " +
			"It changes when the link mailed there is followed.\n\n" +
			"If this was not you, change your password at " + p.baseURL + "/account now; that also signs everyone else out.\n"})
	p.events.Record(r, u.ID, store.EventEmailChangeRequested)
	p.flashes.Put(ctx, []byte("We have sent a link to "+email+". Your address changes when you follow it."))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// --- Password reset -------------------------------------------------------

type forgotData struct {
	Email, Error string
	Off          bool // no mail: reset is not available
}

func (p *Pages) forgotForm(w http.ResponseWriter, r *http.Request) error {
	return p.render(w, r, http.StatusOK, "forgot", page{Title: "Forgot your password?", Data: forgotData{Off: p.mail == nil}})
}

// resetSent is the answer to every accepted reset request, whether or not
// the address has an account.
var resetSent = noticeData{
	Heading: "Check your inbox",
	Message: "If an account uses that address, we have sent it a link to choose a new password. The link works for 30 minutes.",
}

// forgot takes a reset request. The answer is the same page, after the
// same work, whether or not the address has an account: the lookup, the
// token and the mail happen after the response.
func (p *Pages) forgot(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	f := forgotData{Email: strings.TrimSpace(r.PostForm.Get("email")), Off: p.mail == nil}
	if f.Off {
		return p.render(w, r, http.StatusNotFound, "forgot", page{Title: "Forgot your password?", Data: f})
	}
	email, err := web.Email("email", f.Email)
	if err != nil {
		f.Error = fieldMessage(err)
		return p.render(w, r, http.StatusBadRequest, "forgot", page{Title: "Forgot your password?", Data: f})
	}
	email = store.NormalizeEmail(email)
	d, err := p.resetLimits.address.Allow(r.Context(), "addr:"+p.addressKey(email), 1)
	if err != nil {
		return web.Unavailable("rate-limit store", err)
	}
	if !d.Allowed {
		return web.Limited(d)
	}
	p.background(r, func(r *http.Request) { p.sendReset(r, email) })
	return p.notice(w, r, http.StatusOK, resetSent)
}

// addressKey names an email address in the limit store without storing
// it: an HMAC with SECRET_KEY.
func (p *Pages) addressKey(email string) string {
	m := hmac.New(sha256.New, p.keys[0])
	m.Write([]byte("bulwark reset address\x00"))
	m.Write([]byte(email))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// sendReset mails a reset link if email has an account and the account's
// budget allows.
func (p *Pages) sendReset(r *http.Request, email string) {
	ctx := r.Context()
	u, err := p.db.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		p.log.ErrorContext(ctx, "password reset lookup", "error", err)
		return
	}
	d, err := p.resetLimits.account.Allow(ctx, "acct:"+strconv.FormatInt(u.ID, 10), 1)
	if err != nil || !d.Allowed {
		p.log.WarnContext(ctx, "password reset mail not sent: account limit", "user_id", u.ID, "error", err)
		return
	}
	err = p.issueAndMail(ctx, u, store.TokenResetPassword, u.Email, func(link string) mailer.Message {
		return mailer.Message{Subject: "Choose a new password", Body: "Hello " + u.Name + ",\n\n" +
			"Someone (we hope you) asked to reset the password of your account. Follow this link to choose a new one:\n\n" +
			link + "\n\n" +
			"The link works once, for 30 minutes. If you did not ask, ignore this mail: your password stays as it is.\n"}
	})
	if err != nil {
		p.log.ErrorContext(ctx, "password reset token", "user_id", u.ID, "error", err)
		return
	}
	p.events.Record(r, u.ID, store.EventPasswordResetRequested)
}

// The reset cookie carries the token from the mailed link to the form, so
// that the token leaves the address bar (and the history, and Referer
// headers) at the first request: the token, its expiry, and an HMAC of
// both with SECRET_KEY.
const resetCookieName = "bulwark_reset"

func (p *Pages) resetCookieName() string { return session.CookieName(resetCookieName, p.secureCookie) }

func resetMAC(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("bulwark reset cookie\x00"))
	m.Write(msg)
	return m.Sum(nil)
}

func (p *Pages) setResetCookie(w http.ResponseWriter, token []byte) {
	buf := make([]byte, 0, mailTokenLen+8+sha256.Size)
	buf = append(buf, token...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(p.now().Add(resetLifetime).Unix())) // #nosec G115 -- a time after 1970: positive, so it fits
	buf = append(buf, resetMAC(p.keys[0], buf)...)
	// #nosec G124 -- Secure follows secureCookie (off only for plain-HTTP development); HttpOnly and SameSite are set
	http.SetCookie(w, &http.Cookie{
		Name: p.resetCookieName(), Value: base64.RawURLEncoding.EncodeToString(buf), Path: "/",
		MaxAge: int(resetLifetime / time.Second), Secure: p.secureCookie, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func (p *Pages) clearResetCookie(w http.ResponseWriter) {
	// #nosec G124 -- Secure follows secureCookie (off only for plain-HTTP development); HttpOnly and SameSite are set
	http.SetCookie(w, &http.Cookie{Name: p.resetCookieName(), Value: "", Path: "/", MaxAge: -1,
		Secure: p.secureCookie, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// resetTokenHash returns the SHA-256 of the token in r's reset cookie, if
// the cookie is one this service made (any key) and has not expired.
func (p *Pages) resetTokenHash(r *http.Request) ([]byte, bool) {
	c, err := r.Cookie(p.resetCookieName())
	if err != nil {
		return nil, false
	}
	return parseResetCookie(c.Value, p.keys, p.now())
}

// parseResetCookie reads what setResetCookie wrote.
func parseResetCookie(v string, keys [][]byte, now time.Time) ([]byte, bool) {
	const n = mailTokenLen + 8 + sha256.Size
	if len(v) != base64.RawURLEncoding.EncodedLen(n) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != n {
		return nil, false
	}
	msg, mac := b[:mailTokenLen+8], b[mailTokenLen+8:]
	valid := false
	for _, k := range keys {
		if hmac.Equal(mac, resetMAC(k, msg)) {
			valid = true
		}
	}
	// #nosec G115 -- the value is under our MAC; one past MaxInt64 would read as negative, that is expired: fails closed
	if !valid || now.Unix() >= int64(binary.BigEndian.Uint64(msg[mailTokenLen:])) {
		return nil, false
	}
	h := sha256.Sum256(msg[:mailTokenLen])
	return h[:], true
}

type resetData struct {
	Error     string
	MinLength int
	Invalid   bool // the link is not (or no longer) valid
}

// resetPage is GET /password/reset, with the token in the query (from the
// mail: moved into the cookie, then 303 to the same path without it) or
// in the cookie (the form).
func (p *Pages) resetPage(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if q := r.URL.Query(); q.Has("token") {
		if text := q.Get("token"); len(text) == mailTokenTextLen {
			if b, err := base64.RawURLEncoding.Strict().DecodeString(text); err == nil && len(b) == mailTokenLen {
				p.setResetCookie(w, b)
			}
		}
		http.Redirect(w, r, "/password/reset", http.StatusSeeOther)
		return nil
	}
	d := resetData{MinLength: p.policy.MinLength}
	hash, ok := p.resetTokenHash(r)
	if ok {
		_, err := p.db.LookupToken(r.Context(), hash, store.TokenResetPassword, p.now())
		if errors.Is(err, store.ErrNotFound) {
			ok = false
		} else if err != nil {
			return err
		}
	}
	if !ok {
		d.Invalid = true
		return p.render(w, r, http.StatusBadRequest, "reset", page{Title: "Choose a new password", Data: d})
	}
	return p.render(w, r, http.StatusOK, "reset", page{Title: "Choose a new password", Data: d})
}

// reset sets the new password: checked by the policy like a sign-up's,
// the token used up, every session of the user ended (the credential
// version goes up), the CSRF secret rotated, an event recorded and a
// notice mailed.
func (p *Pages) reset(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	ctx := r.Context()
	d := resetData{MinLength: p.policy.MinLength}
	invalid := func() error {
		p.clearResetCookie(w)
		d.Invalid = true
		return p.render(w, r, http.StatusBadRequest, "reset", page{Title: "Choose a new password", Data: d})
	}
	hash, ok := p.resetTokenHash(r)
	if !ok {
		return invalid()
	}
	t, err := p.db.LookupToken(ctx, hash, store.TokenResetPassword, p.now())
	if errors.Is(err, store.ErrNotFound) {
		return invalid()
	} else if err != nil {
		return err
	}
	u, err := p.db.UserByID(ctx, t.UserID)
	if err != nil {
		return err
	}
	pw := r.PostForm.Get("new_password")
	if err := p.policy.Check(pw, u.Email, u.Name); err != nil {
		d.Error = policyMessage(err)
		return p.render(w, r, http.StatusBadRequest, "reset", page{Title: "Choose a new password", Data: d})
	}
	newHash, err := p.hasher.Hash(ctx, pw)
	if err != nil {
		return hashError(err)
	}
	// ResetPassword checks the token again, in the same transaction as the
	// write: of two submissions racing, one wins.
	uid, _, err := p.db.ResetPassword(ctx, hash, newHash, p.now())
	if errors.Is(err, store.ErrNotFound) {
		return invalid()
	} else if err != nil {
		return err
	}
	p.clearResetCookie(w)
	if _, in := p.sessions.UserID(ctx); in {
		// This browser's own session (whoever's it was) ends with a new
		// token too.
		if err := p.sessions.Logout(r); err != nil {
			return web.Unavailable("session store", err)
		}
	}
	csrf.Rotate(r)
	p.events.Record(r, uid, store.EventPasswordReset)
	p.mailTo(ctx, mailer.Message{To: u.Email, Subject: "Your password was changed",
		Body: "Hello " + u.Name + ",\n\nThe password of your account was just reset with a link mailed to this address, " +
			"and every session was signed out.\n\nIf this was not you, choose a new password at " + p.baseURL + "/password/forgot now.\n"})
	return p.notice(w, r, http.StatusOK, noticeData{Heading: "Password changed",
		Message: "Your new password is set, and every session of your account has been signed out.",
		Link:    "/login", LinkText: "Sign in"})
}
