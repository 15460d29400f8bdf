package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/store"
)

// CreateAPIKey makes a key for the account with that email and returns it:
// the only time the key exists outside its owner's hands, since only its
// hash is stored. Scopes must be known; users:write only for an
// administrator's account. expires is the key's lifetime (0: no expiry).
func CreateAPIKey(ctx context.Context, cfg *config.Config, email, name string, scopes []string, expires time.Duration) (string, error) {
	name, err := web.Name("name", name)
	if err != nil {
		return "", err
	}
	if expires < 0 {
		return "", errors.New("the expiry must be in the future")
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer db.Close()
	u, err := db.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return "", fmt.Errorf("no account with the email %s", store.NormalizeEmail(email))
	}
	if err != nil {
		return "", err
	}
	granted, err := apikey.ParseScopes(scopes, u.Admin)
	if errors.Is(err, apikey.ErrAdminOnly) {
		return "", fmt.Errorf("%s is not an administrator: the scope users:write is for administrators' keys only", u.Email)
	}
	if err != nil {
		return "", err
	}
	k := &apikey.Key{UserID: u.ID, Name: name, Scopes: granted}
	if expires > 0 {
		k.ExpiresAt = time.Now().Add(expires)
	}
	// A new id clashes with one in 62^8 per existing key; try again then.
	for range 3 {
		tok, err := apikey.Generate()
		if err != nil {
			return "", err
		}
		k.ID, k.Hash = tok.ID, apikey.Hash(tok.Plaintext)
		err = db.CreateAPIKey(ctx, k)
		if errors.Is(err, store.ErrDuplicate) {
			continue
		}
		if err != nil {
			return "", err
		}
		return tok.Plaintext, nil
	}
	return "", errors.New("could not find a free key id; try again")
}

// ListAPIKeys returns the keys of the account with that email, newest
// first, revoked and expired ones included, without their hashes.
func ListAPIKeys(ctx context.Context, cfg *config.Config, email string) ([]apikey.Key, error) {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	u, err := db.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("no account with the email %s", store.NormalizeEmail(email))
	}
	if err != nil {
		return nil, err
	}
	return db.UserAPIKeys(ctx, u.ID)
}

// RevokeAPIKey revokes the key with that public id, whoever owns it. It
// stops working at its next request on every instance.
func RevokeAPIKey(ctx context.Context, cfg *config.Config, id string) error {
	if !apikey.ValidID(id) {
		return fmt.Errorf("%q is not a key id (8 letters and digits, as `bulwark apikey list` shows)", id)
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.RevokeAPIKeyByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no API key with the id %s", id)
	}
	return err
}
