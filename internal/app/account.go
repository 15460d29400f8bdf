package app

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/bulwarkhq/bulwark/csrf"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/session"
)

type userKey struct{}

// signedIn lets the handler run only for a signed-in user, who is then in
// the request context.
func (a *App) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u := a.sessionUser(r)
		if u == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			a.errorPage(w, r, http.StatusUnauthorized, "Please sign in first.")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	}
}

// currentUser returns the signed-in user of a request that passed signedIn.
func (a *App) currentUser(r *http.Request) *store.User {
	u, _ := r.Context().Value(userKey{}).(*store.User)
	return u
}

// sessionUser loads the user the request's session belongs to, if any.
func (a *App) sessionUser(r *http.Request) *store.User {
	if u := a.currentUser(r); u != nil {
		return u
	}
	uid, ok := a.sessions.UserID(r.Context())
	if !ok {
		return nil
	}
	u, err := a.db.UserByID(r.Context(), uid)
	if err != nil {
		return nil
	}
	return u
}

func (a *App) account(w http.ResponseWriter, r *http.Request) {
	a.showAccount(w, r, http.StatusOK, "")
}

type accountData struct {
	Error     string
	MinLength int
	Sessions  []session.Info
	Events    []store.Event
}

func (a *App) showAccount(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	u := a.currentUser(r)
	sessions, err := a.sessions.Sessions(r.Context(), u.ID)
	if err != nil {
		a.serverError(w, r, "list sessions", err)
		return
	}
	events, err := a.db.RecentEvents(r.Context(), u.ID, 20)
	if err != nil {
		a.serverError(w, r, "list events", err)
		return
	}
	a.render(w, r, status, "account", page{Title: "Your account", User: u,
		Data: accountData{Error: errMsg, MinLength: a.policy.MinLength, Sessions: sessions, Events: events}})
}

func (a *App) updateProfile(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.badForm(w, r, err)
		return
	}
	u := a.currentUser(r)
	name := strings.TrimSpace(r.PostForm.Get("name"))
	bio := strings.TrimSpace(r.PostForm.Get("bio"))
	if msg := checkName(name); msg != "" {
		a.showAccount(w, r, http.StatusBadRequest, msg)
		return
	}
	if msg := checkBio(bio); msg != "" {
		a.showAccount(w, r, http.StatusBadRequest, msg)
		return
	}
	if err := a.db.UpdateProfile(r.Context(), u.ID, name, bio); err != nil {
		a.serverError(w, r, "update profile", err)
		return
	}
	a.flash(r, "Profile saved.")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// changePassword checks the current password, stores the new one, renews
// this session's token and ends every other session of the user.
func (a *App) changePassword(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.badForm(w, r, err)
		return
	}
	ctx := r.Context()
	u := a.currentUser(r)
	ok, err := a.hasher.Verify(ctx, r.PostForm.Get("current_password"), u.PasswordHash)
	if err != nil && !isTooLongPassword(err) {
		a.hashFailed(w, r, err)
		return
	}
	if !ok {
		a.event(r, u.ID, "password_change_failure", "")
		a.showAccount(w, r, http.StatusBadRequest, "The current password is not right.")
		return
	}
	pw := r.PostForm.Get("new_password")
	if err := a.policy.Check(pw, u.Email, u.Name); err != nil {
		a.showAccount(w, r, http.StatusBadRequest, policyMessage(err))
		return
	}
	hash, err := a.hasher.Hash(ctx, pw)
	if err != nil {
		a.hashFailed(w, r, err)
		return
	}
	if err := a.db.SetPasswordHash(ctx, u.ID, hash); err != nil {
		a.serverError(w, r, "set password", err)
		return
	}
	if err := a.sessions.RenewAndRevokeOthers(r, u.ID); err != nil {
		a.unavailable(w, r, "session store", err)
		return
	}
	csrf.Rotate(r)
	a.event(r, u.ID, "password_change", "")
	a.flash(r, "Password changed. You have been signed out everywhere else.")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

func (a *App) revokeSession(w http.ResponseWriter, r *http.Request) {
	u := a.currentUser(r)
	switch err := a.sessions.Revoke(r.Context(), u.ID, r.PathValue("id")); {
	case errors.Is(err, session.ErrNotFound):
		a.errorPage(w, r, http.StatusNotFound, "That session has already ended.")
		return
	case err != nil:
		a.unavailable(w, r, "session store", err)
		return
	}
	a.event(r, u.ID, "session_revoked", "")
	if _, still := a.sessions.UserID(r.Context()); !still {
		http.Redirect(w, r, "/", http.StatusSeeOther) // they ended this very session
		return
	}
	a.flash(r, "That session has been signed out.")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

type searchData struct {
	Query, Error string
	People       []store.User
}

// maxQuery bounds the search text (DESIGN: every bound is a setting with a
// safe default; this one is fixed until a user needs it changed).
const maxQuery = 100

func (a *App) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{Query: q}
	status := http.StatusOK
	switch {
	case len([]rune(q)) > maxQuery:
		d.Error, status = "Search for at most 100 characters.", http.StatusBadRequest
	case q != "":
		people, err := a.db.SearchUsers(r.Context(), q, 50)
		if err != nil {
			a.serverError(w, r, "search", err)
			return
		}
		d.People = people
	}
	a.render(w, r, status, "search", page{Title: "Find people", Data: d})
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "home", page{Title: "Home"})
}
