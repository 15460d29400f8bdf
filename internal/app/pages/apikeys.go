package pages

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/store"
)

// maxKeyDays bounds the lifetime a key may be given on the account page.
const maxKeyDays = 3650

// createAPIKey makes a key for the signed-in user and shows it once, on the
// account page itself: it is never stored and never in a URL.
func (p *Pages) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formError(err)
	}
	u := currentUser(r)
	if !u.EmailVerified {
		// A key outlives sessions and password changes: it is not handed
		// to an account whose address nobody has confirmed.
		return p.showAccountWith(w, r, http.StatusForbidden, accountData{Error: "Confirm your email address before creating API keys: follow the link we mailed you, or ask for a new one above."})
	}
	name, err := web.Name("name", r.PostForm.Get("name"))
	if err != nil {
		return p.showAccountWith(w, r, http.StatusBadRequest, accountData{Error: fieldMessage(err)})
	}
	scopes, err := apikey.ParseScopes(r.PostForm["scope"], u.Admin)
	if err != nil || len(scopes) == 0 {
		return p.showAccountWith(w, r, http.StatusBadRequest, accountData{Error: "Choose at least one scope from the list."})
	}
	k := &apikey.Key{UserID: u.ID, Name: name, Scopes: scopes}
	if days := strings.TrimSpace(r.PostForm.Get("expires_days")); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > maxKeyDays {
			return p.showAccountWith(w, r, http.StatusBadRequest, accountData{Error: "Enter a number of days from 1 to 3650, or leave it empty for a key that does not expire."})
		}
		k.ExpiresAt = time.Now().Add(time.Duration(n) * 24 * time.Hour)
	}
	tok, err := apikey.Generate()
	if err != nil {
		return err
	}
	k.ID, k.Hash = tok.ID, apikey.Hash(tok.Plaintext)
	if err := p.db.CreateAPIKey(r.Context(), k); err != nil {
		return err
	}
	p.events.Record(r, u.ID, store.EventAPIKeyCreated)
	return p.showAccountWith(w, r, http.StatusOK, accountData{NewKey: tok.Plaintext})
}

// revokeAPIKey ends one of the signed-in user's keys; another user's key is
// "not found", never "forbidden".
func (p *Pages) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	switch err := p.db.RevokeAPIKey(r.Context(), u.ID, r.PathValue("id")); {
	case errors.Is(err, store.ErrNotFound):
		return web.NotFound("There is no such API key.")
	case err != nil:
		return err
	}
	p.events.Record(r, u.ID, store.EventAPIKeyRevoked)
	p.flashes.Put(r.Context(), []byte("The API key has been revoked."))
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}
