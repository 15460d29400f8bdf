package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/password/policy"
)

// user is a person as the API shows them. Email and Admin are shown only
// to the person themselves and to administrators.
type user struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email,omitempty"`
	Name      string    `json:"name"`
	Bio       string    `json:"bio"`
	Admin     *bool     `json:"admin,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// userFor shows u to the owner of k.
func userFor(k *apikey.Key, u *store.User) user {
	out := user{ID: u.ID, Name: u.Name, Bio: u.Bio, CreatedAt: u.CreatedAt}
	if k.Admin || k.UserID == u.ID {
		out.Email, out.Admin = u.Email, &u.Admin
	}
	return out
}

// keyOf returns the request's key; the routes that call it are keyed.
func keyOf(r *http.Request) *apikey.Key {
	k, _ := apikey.FromContext(r.Context())
	return k
}

type keyInfo struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Scopes    []apikey.Scope `json:"scopes"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	k := keyOf(r)
	u, err := a.db.UserByID(r.Context(), k.UserID)
	if err != nil {
		return err // the key outlived its owner only if the cascade failed
	}
	info := keyInfo{ID: k.ID, Name: k.Name, Scopes: k.Scopes}
	if info.Scopes == nil {
		info.Scopes = []apikey.Scope{}
	}
	if !k.ExpiresAt.IsZero() {
		info.ExpiresAt = &k.ExpiresAt
	}
	return writeJSON(w, http.StatusOK, struct {
		User user    `json:"user"`
		Key  keyInfo `json:"key"`
	}{userFor(k, u), info})
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return web.NotFound("No such user.")
	}
	u, err := a.db.UserByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return web.NotFound("No such user.")
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, userFor(keyOf(r), u))
}

// searchPage is how many people a search page holds.
const searchPage = 50

func (a *API) searchUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := web.SearchText("q", r.URL.Query().Get("q"), a.maxSearch)
	if err != nil || q == "" {
		return web.Invalid(web.FieldError{Field: "q", Detail: fmt.Sprintf("Search for 1 to %d characters of text.", a.maxSearch)})
	}
	after, err := store.ParseCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		return web.Invalid(web.FieldError{Field: "cursor", Detail: "Not a cursor from a previous page."})
	}
	people, err := a.db.SearchUsersAfter(r.Context(), q, after, searchPage+1)
	if err != nil {
		return err
	}
	page := struct {
		Users []user `json:"users"`
		Next  string `json:"next_cursor,omitempty"`
	}{Users: []user{}}
	if len(people) > searchPage {
		people = people[:searchPage]
		page.Next = store.CursorAfter(people[searchPage-1]).String()
	}
	k := keyOf(r)
	for i := range people {
		page.Users = append(page.Users, userFor(k, &people[i]))
	}
	return writeJSON(w, http.StatusOK, page)
}

// newUser is the body of POST /api/users. Name, email and bio are checked
// by the same rules (and with the same messages) as the sign-up and profile
// forms (package web); the tag bounds the password before it is hashed.
type newUser struct {
	Name     string  `json:"name"`
	Email    string  `json:"email"`
	Bio      string  `json:"bio"`
	Password *string `json:"password" validate:"omitnil,max=1024"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	k := keyOf(r)
	if !k.Admin {
		// users:write is granted only to administrators' keys; an owner
		// who is no longer one loses it at once.
		return web.Forbidden("Only an administrator's key can create accounts.", nil)
	}
	var in newUser
	if err := a.decode(r, &in); err != nil {
		return err
	}
	name, err := web.Name("name", in.Name)
	if err != nil {
		return err
	}
	email, err := web.Email("email", in.Email)
	if err != nil {
		return err
	}
	bio, err := web.Bio("bio", in.Bio)
	if err != nil {
		return err
	}
	u := &store.User{Email: email, Name: name, Bio: bio, EmailVerified: true} // an admin vouches for it
	if in.Password != nil {
		if err := a.policy.Check(*in.Password, email, name); err != nil {
			detail := "Choose another password."
			if pe, ok := errors.AsType[*policy.Error](err); ok {
				detail = pe.Reason
			}
			return web.Invalid(web.FieldError{Field: "password", Detail: detail})
		}
		if u.PasswordHash, err = a.hasher.Hash(r.Context(), *in.Password); err != nil {
			switch {
			case errors.Is(err, password.ErrBusy):
				return web.Busy(err)
			case errors.Is(err, password.ErrTooLong):
				return web.Invalid(web.FieldError{Field: "password", Detail: "That password is too long."})
			}
			return err
		}
	}
	switch err := a.db.CreateUser(r.Context(), u); {
	case errors.Is(err, store.ErrDuplicate):
		return &web.Error{Status: http.StatusConflict, Msg: "An account with this email already exists."}
	case err != nil:
		return err
	}
	w.Header().Set("Location", "/api/users/"+strconv.FormatInt(u.ID, 10))
	return writeJSON(w, http.StatusCreated, userFor(k, u))
}
