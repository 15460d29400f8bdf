package passkey_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bulwarkhq/bulwark/passkey"
	"github.com/bulwarkhq/bulwark/passkey/passkeytest"
)

const origin = "https://example.com"

type fixture struct {
	rp      *passkey.RelyingParty
	creds   *memoryCredentials
	browser *passkeytest.Authenticator
}

func newFixture(t testing.TB, timeout time.Duration) *fixture {
	t.Helper()
	creds := &memoryCredentials{}
	rp, err := passkey.New(passkey.Config{Origin: origin, Name: "Test", Credentials: creds,
		Challenges: &passkey.MemoryChallenges{}, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{rp: rp, creds: creds, browser: passkeytest.New(origin)}
}

// register adds a passkey for u on the fixture's authenticator.
func (f *fixture) register(t testing.TB, u passkey.User) *passkey.Credential {
	t.Helper()
	ctx := context.Background()
	c, err := f.rp.BeginRegistration(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := f.browser.Register(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := f.rp.FinishRegistration(ctx, u, c.ChallengeID, resp)
	if err != nil {
		t.Fatalf("finish registration: %v", err)
	}
	f.creds.Add(*cred)
	return cred
}

func (f *fixture) login(t testing.TB, u *passkey.User) (*passkey.Ceremony, []byte) {
	t.Helper()
	c, err := f.rp.BeginLogin(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.browser.Login(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	return c, resp
}

var alice = passkey.User{Handle: []byte("handle-alice"), Name: "alice@example.com", DisplayName: "Alice"}
var bob = passkey.User{Handle: []byte("handle-bob"), Name: "bob@example.com", DisplayName: "Bob"}

func TestSignInAndSecondFactor(t *testing.T) {
	f := newFixture(t, 0)
	f.register(t, alice)
	ctx := context.Background()
	c, resp := f.login(t, nil)
	used, err := f.rp.FinishLogin(ctx, c.ChallengeID, resp)
	if err != nil || string(used.UserHandle) != "handle-alice" || used.SignCount != 1 {
		t.Fatalf("discoverable sign-in: %+v, %v", used, err)
	}
	c, resp = f.login(t, &alice)
	if used, err = f.rp.FinishLogin(ctx, c.ChallengeID, resp); err != nil || used.SignCount != 2 {
		t.Fatalf("second factor: %+v, %v", used, err)
	}
}

// A challenge is used once: the same response (or a second Finish with the
// same id) is refused. Without the delete in MemoryChallenges.Take (or the
// store's own single use) the replay signs in again.
func TestReplayedChallengeRefused(t *testing.T) {
	f := newFixture(t, 0)
	f.register(t, alice)
	c, resp := f.login(t, nil)
	if _, err := f.rp.FinishLogin(context.Background(), c.ChallengeID, resp); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.FinishLogin(context.Background(), c.ChallengeID, resp); !errors.Is(err, passkey.ErrNoChallenge) {
		t.Fatalf("replay: %v, want ErrNoChallenge", err)
	}
	// A failed attempt uses the challenge up too.
	c, _ = f.login(t, nil)
	f.rp.FinishLogin(context.Background(), c.ChallengeID, []byte(`{}`))
	if _, err := f.rp.FinishLogin(context.Background(), c.ChallengeID, resp); !errors.Is(err, passkey.ErrNoChallenge) {
		t.Fatalf("after a failed attempt: %v", err)
	}
}

// An expired challenge is refused even when it is still in the store.
func TestExpiredChallengeRefused(t *testing.T) {
	f := newFixture(t, 50*time.Millisecond)
	f.register(t, alice)
	c, resp := f.login(t, nil)
	time.Sleep(100 * time.Millisecond)
	if _, err := f.rp.FinishLogin(context.Background(), c.ChallengeID, resp); !errors.Is(err, passkey.ErrNoChallenge) {
		t.Fatalf("expired: %v", err)
	}
}

// A registration's challenge cannot finish a sign-in.
func TestChallengeKindsApart(t *testing.T) {
	f := newFixture(t, 0)
	f.register(t, alice)
	reg, err := f.rp.BeginRegistration(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	_, resp := f.login(t, nil)
	if _, err := f.rp.FinishLogin(context.Background(), reg.ChallengeID, resp); !errors.Is(err, passkey.ErrNoChallenge) {
		t.Fatalf("registration challenge for a sign-in: %v", err)
	}
}

// The signature does not cover the user handle, so an attacker holding
// Alice's passkey can send its assertion with Bob's handle. The credential
// is looked up among the handle's owner's only, so it is refused; without
// that (trusting the credential id alone) Alice would sign in as Bob.
func TestPasskeyOfAnotherUserRefused(t *testing.T) {
	f := newFixture(t, 0)
	f.register(t, alice)
	bobs := passkeytest.New(origin)
	c, _ := f.rp.BeginRegistration(context.Background(), bob)
	resp, _, _ := bobs.Register(c.Options)
	cred, err := f.rp.FinishRegistration(context.Background(), bob, c.ChallengeID, resp)
	if err != nil {
		t.Fatal(err)
	}
	f.creds.Add(*cred)

	login, assertion := f.login(t, nil) // Alice's authenticator
	var m map[string]any
	json.Unmarshal(assertion, &m)
	m["response"].(map[string]any)["userHandle"] = base64.RawURLEncoding.EncodeToString(bob.Handle)
	forged, _ := json.Marshal(m)
	if used, err := f.rp.FinishLogin(context.Background(), login.ChallengeID, forged); !errors.Is(err, passkey.ErrRefused) {
		t.Fatalf("Alice's passkey with Bob's handle: %+v, %v", used, err)
	}
	// Nor as a second factor begun for Bob.
	login, err = f.rp.BeginLogin(context.Background(), &bob)
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	json.Unmarshal(login.Options, &o)
	delete(o["publicKey"].(map[string]any), "allowCredentials") // Alice's authenticator answers anyway
	opts, _ := json.Marshal(o)
	assertion, err = f.browser.Login(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.FinishLogin(context.Background(), login.ChallengeID, assertion); !errors.Is(err, passkey.ErrRefused) {
		t.Fatalf("Alice's passkey as Bob's second factor: %v", err)
	}
}

// A sign counter that goes back means a copy of the key is in use: refused
// with ErrCloned, and the stored counter stays. Without the CloneWarning
// check in FinishLogin the clone signs in.
func TestSignCounterRegressionRefused(t *testing.T) {
	f := newFixture(t, 0)
	cred := f.register(t, alice)
	for range 3 {
		c, resp := f.login(t, nil)
		if _, err := f.rp.FinishLogin(context.Background(), c.ChallengeID, resp); err != nil {
			t.Fatal(err)
		}
	}
	f.browser.SetCounter(cred.ID, 1) // the clone signs with 2, the original is at 3
	c, resp := f.login(t, nil)
	used, err := f.rp.FinishLogin(context.Background(), c.ChallengeID, resp)
	if !errors.Is(err, passkey.ErrCloned) || used == nil || string(used.ID) != string(cred.ID) {
		t.Fatalf("clone: %+v, %v", used, err)
	}
	stored, _ := f.creds.Credentials(context.Background(), alice.Handle)
	if stored[0].SignCount != 3 {
		t.Fatalf("stored counter %d after the clone, want 3", stored[0].SignCount)
	}
}

// Two sign-ins racing with the same counter value: the store's compare and
// swap lets one through. Without the old-value check in RecordSignIn both
// would pass.
func TestSameCounterTwiceRefused(t *testing.T) {
	f := newFixture(t, 0)
	cred := f.register(t, alice)
	c1, r1 := f.login(t, nil)
	f.browser.SetCounter(cred.ID, 0)
	c2, r2 := f.login(t, nil) // also counter 1
	if _, err := f.rp.FinishLogin(context.Background(), c1.ChallengeID, r1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rp.FinishLogin(context.Background(), c2.ChallengeID, r2); !errors.Is(err, passkey.ErrCloned) {
		t.Fatalf("second use of counter 1: %v", err)
	}
}

// A response from another origin (a phishing site relaying the challenge)
// is refused.
func TestOtherOriginRefused(t *testing.T) {
	f := newFixture(t, 0)
	f.register(t, alice)
	c, err := f.rp.BeginRegistration(context.Background(), bob)
	if err != nil {
		t.Fatal(err)
	}
	resp, _, _ := passkeytest.New("https://examp1e.com").Register(c.Options)
	if _, err := f.rp.FinishRegistration(context.Background(), bob, c.ChallengeID, resp); !errors.Is(err, passkey.ErrRefused) {
		t.Fatalf("other origin: %v", err)
	}
}

func TestNewRefusesBadOrigins(t *testing.T) {
	for _, o := range []string{"", "example.com", "https://example.com/path", "ftp://example.com", "https://127.0.0.1"} {
		_, err := passkey.New(passkey.Config{Origin: o, Name: "x", Credentials: &memoryCredentials{}, Challenges: &passkey.MemoryChallenges{}})
		if err == nil {
			t.Errorf("origin %q accepted", o)
		}
	}
}

// FuzzFinish feeds arbitrary bytes to both Finish calls (which parse the
// browser's JSON before go-webauthn checks it): they must return an error,
// never panic, and never sign anyone in.
func FuzzFinish(f *testing.F) {
	fx := newFixture(f, 0)
	fx.register(f, alice)
	_, resp := fx.login(f, nil)
	f.Add(resp)
	reg, _ := fx.rp.BeginRegistration(context.Background(), bob)
	regResp, _, _ := passkeytest.New(origin).Register(reg.Options)
	f.Add(regResp)
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{}}`))
	f.Add([]byte(`null`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := context.Background()
		login, err := fx.rp.BeginLogin(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if used, err := fx.rp.FinishLogin(ctx, login.ChallengeID, body); err == nil {
			t.Fatalf("arbitrary bytes signed in: %+v", used)
		}
		reg, err := fx.rp.BeginRegistration(ctx, bob)
		if err != nil {
			t.Fatal(err)
		}
		if cred, err := fx.rp.FinishRegistration(ctx, bob, reg.ChallengeID, body); err == nil {
			t.Fatalf("arbitrary bytes registered: %+v", cred)
		}
	})
}
