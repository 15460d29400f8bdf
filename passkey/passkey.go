// Package passkey signs people in with passkeys (WebAuthn) in a net/http
// service. It wraps github.com/go-webauthn/webauthn behind four calls —
// begin and finish a registration, begin and finish a sign-in — and two
// small interfaces the service implements: where credentials live
// ([CredentialStore]) and where a ceremony's challenge waits between its
// two requests ([ChallengeStore]).
//
// What it decides for the service:
//
//   - Challenges are used once. Begin saves the ceremony's state under a
//     random id; Finish takes it back and the store forgets it, so a
//     replayed response, or a second Finish with the same id, fails with
//     [ErrNoChallenge]. Binding the id to a session (or, before sign-in, to
//     a short-lived cookie) is the caller's part: keep it where only the
//     browser that began the ceremony can present it.
//   - Registration asks for a discoverable credential with user
//     verification, so a passkey alone can sign its owner in.
//   - Sign counters are checked. A counter that does not move forward
//     (when it is not zero) means the credential may have been copied:
//     Finish refuses with [ErrCloned] and returns the credential, so the
//     caller can record it. The new counter is written with a compare and
//     swap, so two sign-ins racing with the same counter cannot both pass.
//   - A response is at most [MaxResponseBytes]; anything larger is refused
//     before it is parsed.
package passkey

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// MaxResponseBytes bounds the browser's response to a ceremony. Real ones
// are a few kilobytes (an attestation certificate chain is the largest).
const MaxResponseBytes = 64 << 10

// DefaultTimeout is how long a ceremony may take when Config.Timeout is 0:
// long enough for someone to find a security key, short enough that a
// challenge does not linger.
const DefaultTimeout = 5 * time.Minute

// Errors Finish returns, wrapped; test with errors.Is.
var (
	// ErrNoChallenge means the challenge id is unknown, already used or
	// expired: begin again.
	ErrNoChallenge = errors.New("passkey: no such challenge (unknown, used or expired)")
	// ErrRefused means the browser's response did not verify: wrong
	// origin or challenge, bad signature, an unknown credential, a
	// credential of another user, a malformed body.
	ErrRefused = errors.New("passkey: response refused")
	// ErrCloned means the credential's sign counter did not move forward:
	// two copies of its private key may exist. The sign-in is refused.
	ErrCloned = errors.New("passkey: sign counter did not increase (possible cloned authenticator)")
)

// User is the account a credential belongs to, as the authenticator sees it.
type User struct {
	// Handle is the WebAuthn user handle: 1–64 random bytes that stand
	// for the account and say nothing about it (never an email or a
	// database id). It comes back with every discoverable sign-in.
	Handle []byte
	// Name (an email, say) and DisplayName are shown by the browser when
	// the person picks a passkey.
	Name, DisplayName string
}

// Credential is a registered passkey: what must be stored to check its
// future signatures.
type Credential struct {
	ID         []byte // the credential id the authenticator chose
	UserHandle []byte // the owner's User.Handle
	PublicKey  []byte // COSE_Key
	SignCount  uint32
	AAGUID     []byte   // the authenticator model, 16 bytes (zero when not told)
	Transports []string // "internal", "usb", "hybrid", … as the browser reported
	// BackupEligible says the credential may be synced to other devices
	// (it never changes); BackupState that it is.
	BackupEligible, BackupState bool
	// UserVerified says the registration verified the user (PIN,
	// biometrics).
	UserVerified      bool
	AttestationFormat string
}

// CredentialStore keeps credentials. Implementations must be safe for
// concurrent use.
type CredentialStore interface {
	// Credentials returns every credential registered to the user handle
	// (none: an empty list and no error).
	Credentials(ctx context.Context, userHandle []byte) ([]Credential, error)
	// RecordSignIn stores a successful sign-in with credential id: its
	// counter goes from old to new and its backup state is backupState.
	// It must change nothing and report false when the stored counter is
	// no longer old (another sign-in got there first), so that two uses
	// of one counter value cannot both succeed.
	RecordSignIn(ctx context.Context, id []byte, old, new uint32, backupState bool) (bool, error)
}

// ChallengeStore keeps a ceremony's state between Begin and Finish.
// Implementations must be safe for concurrent use.
type ChallengeStore interface {
	// Save keeps state under id until expires.
	Save(ctx context.Context, id string, state []byte, expires time.Time) error
	// Take returns the state saved under id and forgets it, atomically,
	// so that it is returned at most once. An unknown, taken or expired
	// id gives an error wrapping ErrNoChallenge.
	Take(ctx context.Context, id string) ([]byte, error)
}

// Config configures a RelyingParty. Origin, Name, Credentials and
// Challenges are required.
type Config struct {
	// Origin is the site's public origin, scheme://host[:port]. Its host
	// is the relying party id; browsers allow https, and http only on
	// localhost.
	Origin string
	// Name is the site's name, shown by some browsers.
	Name        string
	Credentials CredentialStore
	Challenges  ChallengeStore
	// Timeout is how long a ceremony may take (DefaultTimeout when 0).
	Timeout time.Duration
}

// RelyingParty runs WebAuthn ceremonies for one origin. It is safe for
// concurrent use.
type RelyingParty struct {
	wa         *webauthn.WebAuthn
	creds      CredentialStore
	challenges ChallengeStore
	timeout    time.Duration
}

// New returns a RelyingParty for c.
func New(c Config) (*RelyingParty, error) {
	if c.Credentials == nil || c.Challenges == nil || c.Name == "" {
		return nil, errors.New("passkey: Name, Credentials and Challenges are required")
	}
	u, err := url.Parse(c.Origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("passkey: Origin must be scheme://host[:port]")
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: c.Name,
		RPOrigins:     []string{c.Origin},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: c.Timeout, TimeoutUVD: c.Timeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: c.Timeout, TimeoutUVD: c.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &RelyingParty{wa: wa, creds: c.Credentials, challenges: c.Challenges, timeout: c.Timeout}, nil
}

// Ceremony is a begun registration or sign-in.
type Ceremony struct {
	// Options go to the browser as they are: JSON of the form
	// {"publicKey": {...}} for navigator.credentials.create or .get, with
	// binary values in base64url.
	Options json.RawMessage
	// ChallengeID names the saved state; give it to Finish. Keep it
	// where only this browser can present it (its session, a cookie).
	ChallengeID string
	// Expires is when the challenge stops being accepted.
	Expires time.Time
}

// The kinds of ceremony, kept with the state so that the challenge of one
// cannot finish the other.
const (
	kindRegister = "register"
	kindLogin    = "login"
)

// state is what the challenge store keeps for a ceremony.
type state struct {
	Kind    string               `json:"kind"`
	Session webauthn.SessionData `json:"session"`
}

// BeginRegistration starts adding a passkey to u. The passkeys u already
// has are excluded, so one authenticator is not registered twice.
func (rp *RelyingParty) BeginRegistration(ctx context.Context, u User) (*Ceremony, error) {
	if err := checkHandle(u.Handle); err != nil {
		return nil, err
	}
	existing, err := rp.creds.Credentials(ctx, u.Handle)
	if err != nil {
		return nil, fmt.Errorf("passkey: load credentials: %w", err)
	}
	wu := waUser{u: u, creds: existing}
	creation, sess, err := rp.wa.BeginRegistration(wu,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(webauthn.Credentials(wu.WebAuthnCredentials()).CredentialDescriptors()),
	)
	if err != nil {
		return nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return rp.save(ctx, kindRegister, creation, sess)
}

// FinishRegistration checks the browser's response to the registration
// challengeID began for u and returns the new credential, for the caller
// to store. The challenge is used up whatever the outcome.
func (rp *RelyingParty) FinishRegistration(ctx context.Context, u User, challengeID string, response []byte) (*Credential, error) {
	st, err := rp.take(ctx, challengeID, kindRegister)
	if err != nil {
		return nil, err
	}
	parsed, err := ParseRegistrationResponse(response)
	if err != nil {
		return nil, err
	}
	if err := checkHandle(u.Handle); err != nil {
		return nil, err
	}
	wc, err := rp.wa.CreateCredential(waUser{u: u}, st.Session, parsed)
	if err != nil {
		return nil, refused(err)
	}
	c := fromWebAuthn(wc, u.Handle)
	return &c, nil
}

// BeginLogin starts a sign-in. With u nil it is a discoverable sign-in:
// the person picks any passkey of this site, and Finish learns from it who
// they are. With u set (a second factor after a password, say) only u's
// passkeys are allowed, and user verification is preferred rather than
// required.
func (rp *RelyingParty) BeginLogin(ctx context.Context, u *User) (*Ceremony, error) {
	if u == nil {
		assertion, sess, err := rp.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
		if err != nil {
			return nil, fmt.Errorf("passkey: begin sign-in: %w", err)
		}
		return rp.save(ctx, kindLogin, assertion, sess)
	}
	if err := checkHandle(u.Handle); err != nil {
		return nil, err
	}
	creds, err := rp.creds.Credentials(ctx, u.Handle)
	if err != nil {
		return nil, fmt.Errorf("passkey: load credentials: %w", err)
	}
	if len(creds) == 0 {
		return nil, errors.New("passkey: begin sign-in: the user has no passkeys")
	}
	assertion, sess, err := rp.wa.BeginLogin(waUser{u: *u, creds: creds},
		webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, fmt.Errorf("passkey: begin sign-in: %w", err)
	}
	return rp.save(ctx, kindLogin, assertion, sess)
}

// FinishLogin checks the browser's response to the sign-in challengeID
// began and returns the credential that signed, with its counter updated;
// its UserHandle says whose it is. The challenge is used up whatever the
// outcome. A sign counter that did not move forward gives the credential
// and an error wrapping ErrCloned.
func (rp *RelyingParty) FinishLogin(ctx context.Context, challengeID string, response []byte) (*Credential, error) {
	st, err := rp.take(ctx, challengeID, kindLogin)
	if err != nil {
		return nil, err
	}
	parsed, err := ParseLoginResponse(response)
	if err != nil {
		return nil, err
	}
	handle := st.Session.UserID // set when begun for a user
	if len(handle) == 0 {
		handle = parsed.Response.UserHandle
	}
	if err := checkHandle(handle); err != nil {
		return nil, fmt.Errorf("%w: no user handle", ErrRefused)
	}
	// The credential must be one of the handle's owner: a passkey of one
	// account presented with another account's handle finds nothing.
	creds, err := rp.creds.Credentials(ctx, handle)
	if err != nil {
		return nil, fmt.Errorf("passkey: load credentials: %w", err)
	}
	var stored *Credential
	for i := range creds {
		if bytes.Equal(creds[i].ID, parsed.RawID) {
			stored = &creds[i]
		}
	}
	if stored == nil {
		return nil, fmt.Errorf("%w: unknown credential", ErrRefused)
	}
	wu := waUser{u: User{Handle: handle}, creds: []Credential{*stored}}
	var wc *webauthn.Credential
	if len(st.Session.UserID) > 0 {
		wc, err = rp.wa.ValidateLogin(wu, st.Session, parsed)
	} else {
		wc, err = rp.wa.ValidateDiscoverableLogin(func(_, _ []byte) (webauthn.User, error) { return wu, nil }, st.Session, parsed)
	}
	if err != nil {
		return nil, refused(err)
	}
	used := *stored
	used.SignCount = wc.Authenticator.SignCount
	used.BackupState = wc.Flags.BackupState
	if wc.Authenticator.CloneWarning {
		return &used, ErrCloned
	}
	ok, err := rp.creds.RecordSignIn(ctx, stored.ID, stored.SignCount, used.SignCount, used.BackupState)
	if err != nil {
		return nil, fmt.Errorf("passkey: record sign-in: %w", err)
	}
	if !ok {
		return &used, fmt.Errorf("%w (another sign-in used this counter value)", ErrCloned)
	}
	return &used, nil
}

// ParseRegistrationResponse reads the browser's JSON response to a
// registration (PublicKeyCredential with an AuthenticatorAttestationResponse)
// into go-webauthn's form. Anything but such a response, or one over
// MaxResponseBytes, gives an error wrapping ErrRefused. FinishRegistration
// calls it; it is exported for callers that want to look first.
func ParseRegistrationResponse(response []byte) (*protocol.ParsedCredentialCreationData, error) {
	if err := checkSize(response); err != nil {
		return nil, err
	}
	p, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, refused(err)
	}
	return p, nil
}

// ParseLoginResponse reads the browser's JSON response to a sign-in
// (PublicKeyCredential with an AuthenticatorAssertionResponse), as
// ParseRegistrationResponse does for a registration.
func ParseLoginResponse(response []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if err := checkSize(response); err != nil {
		return nil, err
	}
	p, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, refused(err)
	}
	return p, nil
}

func checkSize(response []byte) error {
	if len(response) == 0 || len(response) > MaxResponseBytes {
		return fmt.Errorf("%w: the response must be 1 byte to %d KiB", ErrRefused, MaxResponseBytes>>10)
	}
	return nil
}

func checkHandle(h []byte) error {
	if len(h) == 0 || len(h) > 64 {
		return errors.New("passkey: a user handle is 1 to 64 bytes")
	}
	return nil
}

// refused wraps a go-webauthn error as ErrRefused, keeping its details
// (which never hold a secret: they name the check that failed).
func refused(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		msg := pe.Details
		if pe.DevInfo != "" {
			msg += ": " + pe.DevInfo
		}
		return fmt.Errorf("%w: %s", ErrRefused, msg)
	}
	return fmt.Errorf("%w: %w", ErrRefused, err)
}

// save keeps a begun ceremony's state under a new random id.
func (rp *RelyingParty) save(ctx context.Context, kind string, options any, sess *webauthn.SessionData) (*Ceremony, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode options: %w", err)
	}
	st, err := json.Marshal(state{Kind: kind, Session: *sess})
	if err != nil {
		return nil, fmt.Errorf("passkey: encode state: %w", err)
	}
	id := newChallengeID()
	expires := sess.Expires
	if expires.IsZero() {
		expires = time.Now().Add(rp.timeout)
	}
	if err := rp.challenges.Save(ctx, id, st, expires); err != nil {
		return nil, fmt.Errorf("passkey: save challenge: %w", err)
	}
	return &Ceremony{Options: opts, ChallengeID: id, Expires: expires}, nil
}

// take returns and forgets the state saved under id, which must be of
// kind and not expired.
func (rp *RelyingParty) take(ctx context.Context, id, kind string) (*state, error) {
	if id == "" {
		return nil, ErrNoChallenge
	}
	b, err := rp.challenges.Take(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNoChallenge) {
			return nil, err
		}
		return nil, fmt.Errorf("passkey: take challenge: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("passkey: read saved challenge: %w", err)
	}
	if st.Kind != kind || (!st.Session.Expires.IsZero() && time.Now().After(st.Session.Expires)) {
		return nil, ErrNoChallenge
	}
	return &st, nil
}

// ChallengeIDLen is the length of the ids Begin makes: 32 random bytes in
// unpadded base64url.
const ChallengeIDLen = 43

func newChallengeID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// waUser adapts a User and its credentials to go-webauthn.
type waUser struct {
	u     User
	creds []Credential
}

func (w waUser) WebAuthnID() []byte          { return w.u.Handle }
func (w waUser) WebAuthnName() string        { return w.u.Name }
func (w waUser) WebAuthnDisplayName() string { return w.u.DisplayName }
func (w waUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(w.creds))
	for i, c := range w.creds {
		out[i] = c.toWebAuthn()
	}
	return out
}

func (c Credential) toWebAuthn() webauthn.Credential {
	var flags protocol.AuthenticatorFlags = protocol.FlagUserPresent
	if c.UserVerified {
		flags |= protocol.FlagUserVerified
	}
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:                c.ID,
		PublicKey:         c.PublicKey,
		AttestationType:   "none",
		AttestationFormat: c.AttestationFormat,
		Transport:         transports,
		Flags:             webauthn.NewCredentialFlags(flags),
		Authenticator:     webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

func fromWebAuthn(wc *webauthn.Credential, handle []byte) Credential {
	transports := make([]string, 0, len(wc.Transport))
	for _, t := range wc.Transport {
		transports = append(transports, string(t))
	}
	return Credential{
		ID:                wc.ID,
		UserHandle:        handle,
		PublicKey:         wc.PublicKey,
		SignCount:         wc.Authenticator.SignCount,
		AAGUID:            wc.Authenticator.AAGUID,
		Transports:        transports,
		BackupEligible:    wc.Flags.BackupEligible,
		BackupState:       wc.Flags.BackupState,
		UserVerified:      wc.Flags.UserVerified,
		AttestationFormat: wc.AttestationFormat,
	}
}
