package pages

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/session"
)

type userKey struct{}

// signedIn lets the handler run only for a signed-in user, who is then in
// the request context.
func (p *Pages) signedIn(h web.HandlerFunc) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := p.loadSessionUser(r)
		if err != nil {
			// The database cannot say who this is: fail closed with 503,
			// not a redirect that would look like being signed out.
			return web.Unavailable("database", err)
		}
		if u == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return nil
			}
			return web.Unauthorized("Please sign in first.")
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	}
}

// currentUser returns the signed-in user of a request that passed signedIn.
func currentUser(r *http.Request) *store.User {
	u, _ := r.Context().Value(userKey{}).(*store.User)
	return u
}

// sessionUser loads the user the request's session belongs to, if any. A
// session started under an older credential version (the password changed
// since, perhaps while this session's sign-in was in flight) is ended.
func (p *Pages) sessionUser(r *http.Request) *store.User {
	u, _ := p.loadSessionUser(r)
	return u
}

// loadSessionUser is sessionUser that also reports a database failure,
// which is not the same as having no user: an account deleted since the
// session began is (nil, nil).
func (p *Pages) loadSessionUser(r *http.Request) (*store.User, error) {
	if u := currentUser(r); u != nil {
		return u, nil
	}
	ctx := r.Context()
	uid, ok := p.sessions.UserID(ctx)
	if !ok {
		return nil, nil
	}
	u, err := p.db.UserByID(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load the session's user: %w", err)
	}
	if string(p.credentials.Get(ctx)) != strconv.FormatInt(u.CredentialVersion, 10) {
		if err := p.sessions.Logout(r); err != nil {
			p.log.ErrorContext(ctx, "end session of an old credential version", "user_id", uid, "error", err)
		}
		return nil, nil
	}
	return u, nil
}

// accountFiles is how many files the account page lists, newest first; the
// API lists them all.
const accountFiles = 100

type accountData struct {
	Error     string
	MinLength int
	Sessions  []session.Info
	Events    []store.Event
	Keys      []apikey.Key
	Scopes    []apikey.Scope // those this user may grant
	NewKey    string         // a key just made, shown this once
	Files     []store.File   // the newest accountFiles
	MoreFiles int            // how many older files are not listed
	FilesOn   bool           // uploads are configured
	Used      int64          // bytes, pending uploads included
	Quota     int64
	TwoFactor twoFactorView // TOTP and recovery codes (twofactor.go)
	Passkeys  passkeyView   // passkeys.go
}

func (p *Pages) account(w http.ResponseWriter, r *http.Request) error {
	return p.showAccount(w, r, http.StatusOK, "")
}

func (p *Pages) showAccount(w http.ResponseWriter, r *http.Request, status int, errMsg string) error {
	return p.showAccountWith(w, r, status, accountData{Error: errMsg})
}

// showAccountWith renders the account page with d's message or new key.
func (p *Pages) showAccountWith(w http.ResponseWriter, r *http.Request, status int, d accountData) error {
	ctx := r.Context()
	u := currentUser(r)
	var err error
	if d.Sessions, err = p.sessions.Sessions(ctx, u.ID); err != nil {
		return err
	}
	if d.Events, err = p.db.RecentEvents(ctx, u.ID, 20); err != nil {
		return err
	}
	if d.Keys, err = p.db.UserAPIKeys(ctx, u.ID); err != nil {
		return err
	}
	if err := p.fillTwoFactor(ctx, u.ID, &d.TwoFactor); err != nil {
		return err
	}
	if err := p.fillPasskeys(ctx, u.ID, &d.Passkeys); err != nil {
		return err
	}
	if p.files != nil {
		d.FilesOn, d.Quota = true, p.files.Quota
		if d.Files, d.Used, err = p.db.UserFiles(ctx, u.ID); err != nil {
			return err
		}
		if len(d.Files) > accountFiles {
			d.Files, d.MoreFiles = d.Files[:accountFiles], len(d.Files)-accountFiles
		}
	}
	d.MinLength = p.policy.MinLength
	for _, s := range []apikey.Scope{apikey.UsersRead, apikey.UsersWrite, apikey.FilesRead, apikey.FilesWrite} {
		if u.Admin || !apikey.AdminOnly(s) {
			d.Scopes = append(d.Scopes, s)
		}
	}
	return p.render(w, r, status, "account", page{Title: "Your account", User: u, Data: d})
}

func (p *Pages) updateProfile(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	u := currentUser(r)
	name, err := web.Name("name", r.PostForm.Get("name"))
	if err != nil {
		return p.showAccount(w, r, http.StatusBadRequest, fieldMessage(err))
	}
	bio, err := web.Bio("bio", r.PostForm.Get("bio"))
	if err != nil {
		return p.showAccount(w, r, http.StatusBadRequest, fieldMessage(err))
	}
	if err := p.db.UpdateProfile(r.Context(), u.ID, name, bio); err != nil {
		return err
	}
	p.flashes.Put(r.Context(), []byte("Profile saved."))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// confirmPassword checks the signed-in user's password, from the form field
// named field, before a change to the account: the password, the address,
// the second factors. Each guess is charged to the account's sign-in budget
// (and refunded when right), so a stolen session cookie does not make
// guessing cheaper; a wrong one is recorded as failure.
func (p *Pages) confirmPassword(r *http.Request, u *store.User, field string, failure store.EventKind) (bool, error) {
	refund, err := p.signin.charge(r, accountName(u), false)
	if err != nil {
		return false, err
	}
	ok, err := p.checkPassword(r.Context(), u, r.PostForm.Get(field))
	if err != nil {
		refund() // not checked
		return false, err
	}
	if !ok {
		p.events.Record(r, u.ID, failure)
		return false, nil
	}
	refund()
	return true, nil
}

// changePassword checks the current password, stores the new one, renews
// this session's token and ends every other session of the user.
func (p *Pages) changePassword(w http.ResponseWriter, r *http.Request) error {
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
	pw := r.PostForm.Get("new_password")
	if err := p.policy.Check(pw, u.Email, u.Name); err != nil {
		return p.showAccount(w, r, http.StatusBadRequest, policyMessage(err))
	}
	hash, err := p.hasher.Hash(ctx, pw)
	if err != nil {
		return hashError(err)
	}
	version, err := p.db.SetPassword(ctx, u.ID, hash)
	if err != nil {
		return err
	}
	if err := p.sessions.RenewAndRevokeOthers(r, u.ID); err != nil {
		return web.Unavailable("session store", err)
	}
	p.credentials.Put(ctx, []byte(strconv.FormatInt(version, 10)))
	p.events.Record(r, u.ID, store.EventPasswordChange)
	p.flashes.Put(ctx, []byte("Password changed. You have been signed out everywhere else."))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

func (p *Pages) revokeSession(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	switch err := p.sessions.Revoke(r, u.ID, r.PathValue("id")); {
	case errors.Is(err, session.ErrNotFound):
		return web.NotFound("That session has already ended.")
	case err != nil:
		return web.Unavailable("session store", err)
	}
	p.events.Record(r, u.ID, store.EventSessionRevoked)
	if _, still := p.sessions.UserID(r.Context()); !still {
		http.Redirect(w, r, "/", http.StatusSeeOther) // they ended this very session
		return nil
	}
	p.flashes.Put(r.Context(), []byte("That session has been signed out."))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

type searchData struct {
	Query, Error string
	People       []store.User
	Next         string // the cursor of the next page, "" on the last
}

// searchPage is how many people a search page shows.
const searchPage = 50

func (p *Pages) search(w http.ResponseWriter, r *http.Request) error {
	q, qErr := web.SearchText("q", r.URL.Query().Get("q"), p.maxSearch)
	d := searchData{Query: q}
	status := http.StatusOK
	after, err := store.ParseCursor(r.URL.Query().Get("cursor"))
	switch {
	case qErr != nil:
		d.Error, status = fieldMessage(qErr), http.StatusBadRequest
	case err != nil:
		d.Error, status = "That page of results is no longer available. Search again.", http.StatusBadRequest
	case q != "":
		// One more than a page tells whether there is a next one.
		people, err := p.db.SearchUsersAfter(r.Context(), q, after, searchPage+1)
		if err != nil {
			return err
		}
		if len(people) > searchPage {
			people = people[:searchPage]
			d.Next = store.CursorAfter(people[searchPage-1]).String()
		}
		d.People = people
	}
	return p.render(w, r, status, "search", page{Title: "Find people", Data: d})
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request) error {
	return p.render(w, r, http.StatusOK, "home", page{Title: "Home"})
}
