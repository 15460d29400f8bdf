package session

import (
	"context"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"
)

// hashedStore is the scs.Store the Manager gives scs. It stores each session
// under hashToken(token) in the application's store, so that no backend ever
// holds a token, and it refuses to write back a signed-in session that has
// been revoked.
//
// It deliberately does not implement scs.IterableStore: the keys it would
// return are hashes, which scs would take for tokens.
type hashedStore struct {
	inner scs.Store
	index Index
	codec scs.Codec // the SessionManager's, to read the user from committed data
}

var _ scs.CtxStore = (*hashedStore)(nil)

func (s *hashedStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *hashedStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s *hashedStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

func (s *hashedStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	hash := hashToken(token)
	if cs, ok := s.inner.(scs.CtxStore); ok {
		return cs.FindCtx(ctx, hash)
	}
	return s.inner.Find(hash)
}

func (s *hashedStore) DeleteCtx(ctx context.Context, token string) error {
	if token == "" {
		return nil // scs destroys sessions that were never stored
	}
	return s.deleteHash(ctx, hashToken(token))
}

// CommitCtx writes the session unless it is signed in and no longer indexed.
//
// The index is asked twice. Before the write, so a revoked session is not
// stored again. After it, because a revocation may run between that check
// and the write: revocation deletes from the store, then from the index,
// then from the store once more (Manager.end), so either its last delete
// comes after this write or this second check sees the hash gone and
// deletes the session itself.
func (s *hashedStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	hash := hashToken(token)
	_, values, err := s.codec.Decode(b)
	if err != nil {
		return fmt.Errorf("session: read session before commit: %w", err)
	}
	if uid, _ := values[keyUserID].(int64); uid == 0 {
		return s.commitHash(ctx, hash, b, expiry) // anonymous: nothing to revoke
	}
	if live, err := s.index.Has(ctx, hash); err != nil {
		return fmt.Errorf("session: index: %w", err)
	} else if !live {
		// Revoked while this request ran. Saying nothing lets the response
		// go out; the browser's next request finds no session.
		return nil
	}
	if err := s.commitHash(ctx, hash, b, expiry); err != nil {
		return err
	}
	live, err := s.index.Has(ctx, hash)
	if err != nil {
		return fmt.Errorf("session: index: %w", err)
	}
	if !live {
		return s.deleteHash(ctx, hash)
	}
	return nil
}

func (s *hashedStore) commitHash(ctx context.Context, hash string, b []byte, expiry time.Time) error {
	var err error
	if cs, ok := s.inner.(scs.CtxStore); ok {
		err = cs.CommitCtx(ctx, hash, b, expiry)
	} else {
		err = s.inner.Commit(hash, b, expiry)
	}
	if err != nil {
		return fmt.Errorf("session: save to store: %w", err)
	}
	return nil
}

// deleteHash deletes a session by the name it is stored under, for
// revocations, which know only hashes.
func (s *hashedStore) deleteHash(ctx context.Context, hash string) error {
	var err error
	if cs, ok := s.inner.(scs.CtxStore); ok {
		err = cs.DeleteCtx(ctx, hash)
	} else {
		err = s.inner.Delete(hash)
	}
	if err != nil {
		return fmt.Errorf("session: delete from store: %w", err)
	}
	return nil
}
