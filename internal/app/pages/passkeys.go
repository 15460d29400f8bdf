package pages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bulwarkhq/bulwark/input"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/passkey"
	"github.com/bulwarkhq/bulwark/ratelimit"
	"github.com/bulwarkhq/bulwark/session"
)

// Passkeys (README "Passkeys"). The ceremonies are package passkey's; this
// file decides where their challenges wait and what each outcome does.
//
//   - Registration (signed in): POST /account/passkeys/begin with
//     {"name": "…"} returns the creation options; the challenge id and the
//     name wait in the session, so only this session can finish, once.
//     POST /account/passkeys/finish with the browser's credential stores it.
//   - Sign-in (anonymous or half signed in): anonymous visitors get no
//     server-side session, so POST /login/passkey/begin puts the challenge
//     id in a short-lived HttpOnly cookie; the challenge itself waits in the
//     database (hashed id, five minutes, deleted when taken), so it is used
//     once on every instance. POST /login/passkey/finish signs in with a new
//     session token. Begin is limited per address like POST /login: every
//     finish needs a challenge from a begin, and each challenge is one try.
//   - Second factor: a request half signed in after its password
//     (twofactor.go) gets a ceremony for that user's passkeys only, and a
//     good answer completes the sign-in through finishSignIn.
//
// Finish endpoints answer 303 like the forms do; passkey.js follows the
// redirect. Failures are the usual error pages with their status, which
// the script turns into a sentence.

// passkeyCookieName holds the challenge id of an anonymous sign-in.
const passkeyCookieName = "bulwark_passkey" // #nosec G101 -- a cookie name, not a credential

// passkeyTimeout is how long a ceremony may take.
const passkeyTimeout = 5 * time.Minute

// passkeys is the pages' passkey part; rp is nil when passkeys are off
// (BASE_URL's host is an IP address, which WebAuthn does not allow).
type passkeys struct {
	rp      *passkey.RelyingParty
	json    *input.Decoder
	limit   *ratelimit.Limiter // per address on POST /login/passkey/begin
	pending *session.Value     // a registration in progress: pendingRegistration
}

type pendingRegistration struct {
	ChallengeID string `json:"c"`
	Name        string `json:"n"`
}

// newPasskeys sets up the passkeys of p for the origin in o.BaseURL.
func newPasskeys(o Options, p *Pages) (passkeys, error) {
	var pk passkeys
	var err error
	if pk.json, err = input.New(input.Options{MaxBytes: 4 << 10}); err != nil {
		return pk, fmt.Errorf("pages: passkeys: %w", err)
	}
	pk.pending = p.sessions.Value("passkey.registration")
	pk.limit, err = ratelimit.New(ratelimit.Options{
		Store: o.Limits, Limits: o.LoginLimit, Name: "login-passkey", Key: ratelimit.ByIP(o.IPs),
		Logger: o.Log, ErrorHandler: web.LimitErrors(p.errors), Observer: o.Meter,
	})
	if err != nil {
		return pk, fmt.Errorf("pages: passkey limit: %w", err)
	}
	if o.BaseURL == "" {
		o.Log.Warn("passkeys are off: no BASE_URL")
		return pk, nil
	}
	pk.rp, err = passkey.New(passkey.Config{
		Origin: o.BaseURL, Name: "Bulwark", Timeout: passkeyTimeout,
		Credentials: o.DB.PasskeyStore(), Challenges: o.DB.PasskeyStore(),
	})
	if err != nil {
		// An IP address is no relying party id: the rest of the site works.
		o.Log.Warn("passkeys are off: BASE_URL cannot be a WebAuthn relying party (use a host name)", "error", err)
		pk.rp = nil
	}
	return pk, nil
}

// passkeyRoutes adds the passkey routes to mux.
func (p *Pages) passkeyRoutes(mux *http.ServeMux, handle func(string, web.HandlerFunc)) {
	handle("POST /account/passkeys/begin", p.signedIn(p.beginPasskeyRegistration))
	handle("POST /account/passkeys/finish", p.signedIn(p.finishPasskeyRegistration))
	handle("POST /account/passkeys/{id}/delete", p.signedIn(p.deletePasskey))
	mux.Handle("POST /login/passkey/begin", p.passkeys.limit.Handler(p.errors.Handle(p.beginPasskeyLogin)))
	handle("POST /login/passkey/finish", p.finishPasskeyLogin)
}

var errPasskeysOff = web.NotFound("Passkeys are not available on this site.")

// passkeyUser is u as the authenticator sees it, with its handle.
func (p *Pages) passkeyUser(ctx context.Context, u *store.User) (passkey.User, error) {
	h, err := p.db.PasskeyHandle(ctx, u.ID)
	if err != nil {
		return passkey.User{}, err
	}
	return passkey.User{Handle: h, Name: u.Email, DisplayName: u.Name}, nil
}

func (p *Pages) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	if p.passkeys.rp == nil {
		return errPasskeysOff
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := p.passkeys.json.DecodeJSON(r, &body); err != nil {
		return inputError(err)
	}
	name := strings.TrimSpace(body.Name)
	if name == "" || utf8.RuneCountInString(name) > store.MaxPasskeyName || !utf8.ValidString(name) || strings.ContainsRune(name, 0) {
		return web.BadRequest(fmt.Sprintf("Give the passkey a name of 1 to %d characters.", store.MaxPasskeyName))
	}
	ctx := r.Context()
	pu, err := p.passkeyUser(ctx, currentUser(r))
	if err != nil {
		return err
	}
	c, err := p.passkeys.rp.BeginRegistration(ctx, pu)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(pendingRegistration{ChallengeID: c.ChallengeID, Name: name})
	p.passkeys.pending.Put(ctx, b)
	return writeOptions(w, c.Options)
}

func (p *Pages) finishPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	if p.passkeys.rp == nil {
		return errPasskeysOff
	}
	ctx := r.Context()
	u := currentUser(r)
	// Taken from the session whatever happens next: one finish per begin.
	var pr pendingRegistration
	if b := p.passkeys.pending.Pop(ctx); b == nil || json.Unmarshal(b, &pr) != nil {
		return web.BadRequest("No passkey registration is in progress here. Start again.")
	}
	body, err := readCeremonyBody(r)
	if err != nil {
		return err
	}
	pu, err := p.passkeyUser(ctx, u)
	if err != nil {
		return err
	}
	cred, err := p.passkeys.rp.FinishRegistration(ctx, pu, pr.ChallengeID, body)
	if err != nil {
		return ceremonyError(err)
	}
	pk := &store.Passkey{UserID: u.ID, Name: pr.Name, Credential: *cred}
	switch err := p.db.AddPasskey(ctx, pk); {
	case errors.Is(err, store.ErrDuplicate):
		return &web.Error{Status: http.StatusConflict, Msg: "This passkey is already registered.", Err: err}
	case err != nil:
		return err
	}
	p.events.Record(r, u.ID, store.EventPasskeyAdded)
	p.flashes.Put(ctx, []byte(fmt.Sprintf("Passkey “%s” added. You can sign in with it instead of your password.", pr.Name)))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

func (p *Pages) deletePasskey(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return web.NotFound("There is no such passkey.")
	}
	name, err := p.db.DeletePasskey(r.Context(), u.ID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Another user's passkey is as unknown as one that never was.
		return web.NotFound("There is no such passkey.")
	case err != nil:
		return err
	}
	p.events.Record(r, u.ID, store.EventPasskeyRemoved)
	p.flashes.Put(r.Context(), []byte(fmt.Sprintf("Passkey “%s” removed.", name)))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// beginPasskeyLogin starts a sign-in: discoverable for a visitor, limited
// to the pending user's passkeys for a request half signed in.
func (p *Pages) beginPasskeyLogin(w http.ResponseWriter, r *http.Request) error {
	if p.passkeys.rp == nil {
		return errPasskeysOff
	}
	ctx := r.Context()
	var forUser *passkey.User
	if uid, ok := p.pendingUser(r); ok {
		u, err := p.db.UserByID(ctx, uid)
		if err != nil {
			return errNotPending
		}
		pu, err := p.passkeyUser(ctx, u)
		if err != nil {
			return err
		}
		forUser = &pu
	}
	c, err := p.passkeys.rp.BeginLogin(ctx, forUser)
	if err != nil {
		if forUser != nil {
			return web.BadRequest("There is no passkey on this account. Use a code instead.")
		}
		return err
	}
	// #nosec G124 -- Secure follows secureCookie (off only for plain-HTTP development); HttpOnly and SameSite are set
	http.SetCookie(w, &http.Cookie{
		Name: p.passkeyCookieName(), Value: c.ChallengeID, Path: "/", MaxAge: int(passkeyTimeout / time.Second),
		Secure: p.secureCookie, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	return writeOptions(w, c.Options)
}

// finishPasskeyLogin checks the browser's answer and signs it in.
func (p *Pages) finishPasskeyLogin(w http.ResponseWriter, r *http.Request) error {
	if p.passkeys.rp == nil {
		return errPasskeysOff
	}
	ctx := r.Context()
	var challenge string
	if c, err := r.Cookie(p.passkeyCookieName()); err == nil && len(c.Value) == passkey.ChallengeIDLen {
		challenge = c.Value
	}
	// #nosec G124 -- Secure follows secureCookie (off only for plain-HTTP development); HttpOnly and SameSite are set
	http.SetCookie(w, &http.Cookie{Name: p.passkeyCookieName(), Value: "", Path: "/", MaxAge: -1,
		Secure: p.secureCookie, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	body, err := readCeremonyBody(r)
	if err != nil {
		return err
	}
	used, err := p.passkeys.rp.FinishLogin(ctx, challenge, body)
	if errors.Is(err, passkey.ErrCloned) && used != nil {
		if u, uerr := p.db.UserByPasskeyHandle(ctx, used.UserHandle); uerr == nil {
			p.events.Record(r, u.ID, store.EventPasskeyCloned)
		}
		p.log.WarnContext(ctx, "passkey sign-in refused: sign counter did not increase", "client", web.ClientAddr(r))
	}
	if err != nil {
		if errors.Is(err, passkey.ErrRefused) {
			p.events.Record(r, 0, store.EventLoginFailure)
		}
		return ceremonyError(err)
	}
	u, err := p.db.UserByPasskeyHandle(ctx, used.UserHandle)
	if errors.Is(err, store.ErrNotFound) {
		return ceremonyError(passkey.ErrRefused)
	} else if err != nil {
		return err
	}
	if uid, ok := p.pendingUser(r); ok {
		// The second step: FinishLogin only allowed this user's passkeys;
		// finishSignIn checks the pending state once more.
		if uid != u.ID {
			return errNotPending
		}
		p.events.Record(r, u.ID, store.EventPasskeyLogin)
		return p.finishSignIn(w, r, u.ID)
	}
	if err := p.startSession(w, r, u, session.LoginOptions{}); err != nil {
		return err
	}
	p.events.Record(r, u.ID, store.EventPasskeyLogin)
	next := web.LocalPath(r.URL.Query().Get("next"))
	if next == "" {
		next = "/account"
	}
	// #nosec G710 -- next passed web.LocalPath, which keeps only paths on this site
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// pendingHasPasskey reports whether a half-signed-in request's user has a
// passkey to use as the second factor.
func (p *Pages) pendingHasPasskey(r *http.Request) bool {
	uid, ok := p.pendingUser(r)
	if !ok || p.passkeys.rp == nil {
		return false
	}
	keys, err := p.db.UserPasskeys(r.Context(), uid)
	return err == nil && len(keys) > 0
}

func (p *Pages) passkeyCookieName() string {
	return session.CookieName(passkeyCookieName, p.secureCookie)
}

// readCeremonyBody reads the browser's JSON answer to a ceremony, at most
// passkey.MaxResponseBytes of it.
func readCeremonyBody(r *http.Request) ([]byte, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &web.Error{Status: http.StatusUnsupportedMediaType, Msg: "Send the passkey's answer as JSON."}
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, passkey.MaxResponseBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, web.TooLarge(passkey.MaxResponseBytes)
		}
		return nil, web.BadRequest("The passkey's answer could not be read. Try again.")
	}
	return b, nil
}

// ceremonyError is what a visitor sees of a failed ceremony. The reason
// goes to the log only.
func ceremonyError(err error) error {
	switch {
	case errors.Is(err, passkey.ErrNoChallenge):
		return &web.Error{Status: http.StatusBadRequest, Err: err,
			Msg: "That passkey request expired or was already used. Try again."}
	case errors.Is(err, passkey.ErrCloned):
		return &web.Error{Status: http.StatusUnauthorized, Err: err,
			Msg: "This passkey was refused: it may have been copied. Sign in another way and check your account's passkeys."}
	case errors.Is(err, passkey.ErrRefused):
		return &web.Error{Status: http.StatusUnauthorized, Err: err,
			Msg: "That passkey was not accepted here."}
	}
	return err
}

// inputError turns a refused JSON body into the page's error.
func inputError(err error) error {
	if ie, ok := errors.AsType[*input.Error](err); ok {
		return &web.Error{Status: ie.Status, Msg: ie.Detail, Err: err}
	}
	return err
}

// writeOptions sends a ceremony's options to the page's script.
func writeOptions(w http.ResponseWriter, options json.RawMessage) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(options) // the client may have gone; the status is already sent
	return nil
}

// passkeyView is the account page's passkey section.
type passkeyView struct {
	On   bool // passkeys work with this BASE_URL
	Keys []store.Passkey
}

func (p *Pages) fillPasskeys(ctx context.Context, userID int64, v *passkeyView) error {
	v.On = p.passkeys.rp != nil
	var err error
	v.Keys, err = p.db.UserPasskeys(ctx, userID)
	return err
}
