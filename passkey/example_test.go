package passkey_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/bulwarkhq/bulwark/passkey"
	"github.com/bulwarkhq/bulwark/passkey/passkeytest"
)

// memoryCredentials is the smallest CredentialStore: a slice behind a mutex.
type memoryCredentials struct {
	mu    sync.Mutex
	creds []passkey.Credential
}

func (m *memoryCredentials) Add(c passkey.Credential) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creds = append(m.creds, c)
}

func (m *memoryCredentials) Credentials(_ context.Context, handle []byte) ([]passkey.Credential, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []passkey.Credential
	for _, c := range m.creds {
		if bytes.Equal(c.UserHandle, handle) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (m *memoryCredentials) RecordSignIn(_ context.Context, id []byte, old, new uint32, backupState bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.creds {
		if bytes.Equal(m.creds[i].ID, id) {
			if m.creds[i].SignCount != old {
				return false, nil
			}
			m.creds[i].SignCount, m.creds[i].BackupState = new, backupState
			return true, nil
		}
	}
	return false, nil
}

// A registration and a discoverable sign-in. In a service, each Begin is one
// request (its Options go to navigator.credentials.create or .get in the
// page) and each Finish the next one (its body is what the browser
// returned); the challenge id waits in the session or a cookie between them.
// Here passkeytest plays the browser and its authenticator.
func Example() {
	ctx := context.Background()
	creds := &memoryCredentials{}
	rp, err := passkey.New(passkey.Config{
		Origin:      "https://example.com",
		Name:        "Example",
		Credentials: creds,
		Challenges:  &passkey.MemoryChallenges{},
	})
	if err != nil {
		log.Fatal(err)
	}
	alice := passkey.User{Handle: []byte("random-handle-of-alice"), Name: "alice@example.com", DisplayName: "Alice"}
	browser := passkeytest.New("https://example.com")

	// Register: begin, the browser creates a credential, finish, store it.
	reg, err := rp.BeginRegistration(ctx, alice)
	if err != nil {
		log.Fatal(err)
	}
	response, _, err := browser.Register(reg.Options)
	if err != nil {
		log.Fatal(err)
	}
	cred, err := rp.FinishRegistration(ctx, alice, reg.ChallengeID, response)
	if err != nil {
		log.Fatal(err)
	}
	creds.Add(*cred)

	// Sign in without saying who: the passkey tells.
	login, err := rp.BeginLogin(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	assertion, err := browser.Login(login.Options)
	if err != nil {
		log.Fatal(err)
	}
	used, err := rp.FinishLogin(ctx, login.ChallengeID, assertion)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("signed in as %s, counter %d\n", used.UserHandle, used.SignCount)

	// The same response again is refused: its challenge was used.
	_, err = rp.FinishLogin(ctx, login.ChallengeID, assertion)
	fmt.Println(err)
	// Output:
	// signed in as random-handle-of-alice, counter 1
	// passkey: no such challenge (unknown, used or expired)
}
