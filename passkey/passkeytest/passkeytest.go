// Package passkeytest is a software passkey authenticator for tests, as
// net/http/httptest is a server: it answers the options a relying party
// sends (package passkey's Ceremony.Options, or any WebAuthn server's) with
// the JSON a browser would post back, so the server side can be tested
// without a browser or a security key.
//
// It makes ES256 credentials with "none" attestation, keeps them as
// discoverable credentials, verifies the user, and counts signatures. Its
// knobs (SetCounter, the response fields the caller may edit) exist to
// play the attacks a server must refuse. It is not an authenticator to
// trust with anything real: its keys live in memory.
package passkeytest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
)

// Authenticator is a software authenticator bound to one origin (the
// browser's page origin, e.g. "http://localhost:8080"). It is safe for
// concurrent use.
type Authenticator struct {
	origin string

	mu    sync.Mutex
	creds []*credential // in order of registration
}

type credential struct {
	id      []byte
	key     *ecdsa.PrivateKey
	rpID    string
	handle  []byte
	counter uint32
}

// New returns an Authenticator that signs as a page of origin would.
func New(origin string) *Authenticator {
	return &Authenticator{origin: origin}
}

// b64 is WebAuthn's JSON encoding of bytes: base64url, unpadded.
var b64 = base64.RawURLEncoding

// bytesField decodes base64url with or without padding.
type bytesField []byte

func (b *bytesField) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := b64.DecodeString(string(bytes.TrimRight([]byte(s), "=")))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

type creationOptions struct {
	PublicKey struct {
		Challenge bytesField `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID bytesField `json:"id"`
		} `json:"user"`
		Exclude []struct {
			ID bytesField `json:"id"`
		} `json:"excludeCredentials"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge bytesField `json:"challenge"`
		RPID      string     `json:"rpId"`
		Allow     []struct {
			ID bytesField `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

// Register answers creation options with a new credential's registration
// response (a PublicKeyCredential as JSON) and returns its id too.
func (a *Authenticator) Register(options []byte) (response, id []byte, err error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, nil, fmt.Errorf("passkeytest: read creation options: %w", err)
	}
	rpID := o.PublicKey.RP.ID
	if rpID == "" {
		u, err := url.Parse(a.origin)
		if err != nil {
			return nil, nil, fmt.Errorf("passkeytest: origin: %w", err)
		}
		rpID = u.Hostname()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range o.PublicKey.Exclude {
		if a.find(ex.ID) != nil {
			return nil, nil, errors.New("passkeytest: this authenticator already holds an excluded credential")
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	c := &credential{id: make([]byte, 16), key: key, rpID: rpID, handle: o.PublicKey.User.ID}
	rand.Read(c.id)
	a.creds = append(a.creds, c)

	clientData := a.clientData("webauthn.create", o.PublicKey.Challenge)
	authData := c.authData(flagUP|flagUV|flagAT, attestedData(c))
	attObj := cborMap(3)
	attObj = cborText(attObj, "fmt")
	attObj = cborText(attObj, "none")
	attObj = cborText(attObj, "attStmt")
	attObj = cborMap0(attObj)
	attObj = cborText(attObj, "authData")
	attObj = cborBytes(attObj, authData)
	resp := map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"attestationObject": b64.EncodeToString(attObj),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	}
	b, err := json.Marshal(resp)
	return b, bytes.Clone(c.id), err
}

// Login answers request options with an assertion (a PublicKeyCredential
// as JSON) by the newest credential for the options' relying party that
// the options allow, and counts one more signature on it.
func (a *Authenticator) Login(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: read request options: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var c *credential
	for i := len(a.creds) - 1; i >= 0 && c == nil; i-- {
		cand := a.creds[i]
		if o.PublicKey.RPID != "" && cand.rpID != o.PublicKey.RPID {
			continue
		}
		if len(o.PublicKey.Allow) == 0 {
			c = cand
		}
		for _, al := range o.PublicKey.Allow {
			if bytes.Equal(al.ID, cand.id) {
				c = cand
			}
		}
	}
	if c == nil {
		return nil, errors.New("passkeytest: no credential for these options")
	}
	c.counter++
	clientData := a.clientData("webauthn.get", o.PublicKey.Challenge)
	authData := c.authData(flagUP|flagUV, nil)
	// The signature is over authenticatorData || SHA-256(clientDataJSON);
	// ECDSA signs that message's SHA-256.
	h := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(bytes.Clone(authData), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	resp := map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"authenticatorData": b64.EncodeToString(authData),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.handle),
		},
		"clientExtensionResults": map[string]any{},
	}
	return json.Marshal(resp)
}

// SetCounter sets the sign counter of credential id; the next Login signs
// with n+1. Setting it back plays a cloned authenticator.
func (a *Authenticator) SetCounter(id []byte, n uint32) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.find(id)
	if c == nil {
		return errors.New("passkeytest: no such credential")
	}
	c.counter = n
	return nil
}

func (a *Authenticator) find(id []byte) *credential {
	for _, c := range a.creds {
		if bytes.Equal(c.id, id) {
			return c
		}
	}
	return nil
}

func (a *Authenticator) clientData(typ string, challenge []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": typ, "challenge": b64.EncodeToString(challenge), "origin": a.origin, "crossOrigin": false,
	})
	return b
}

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

// authData is rpIdHash, flags, the counter and the attested data (if any).
func (c *credential) authData(flags byte, attested []byte) []byte {
	rp := sha256.Sum256([]byte(c.rpID))
	b := append(rp[:], flags)
	b = binary.BigEndian.AppendUint32(b, c.counter)
	return append(b, attested...)
}

// attestedData is the AAGUID (zero), the credential id and its COSE key.
func attestedData(c *credential) []byte {
	b := make([]byte, 16)
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.id))) // #nosec G115 -- credential ids are 16 bytes
	b = append(b, c.id...)
	// Bytes is the uncompressed point 0x04 || X || Y, 32 bytes each on P-256;
	// it fails only for a key off the curve, which GenerateKey never makes.
	pub, _ := c.key.PublicKey.Bytes()
	x, y := pub[1:33], pub[33:65]
	// COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}
	k := cborMap(5)
	k = append(k, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21)
	k = cborBytes(k, x)
	k = append(k, 0x22)
	k = cborBytes(k, y)
	return append(b, k...)
}

// The little CBOR (RFC 8949) this needs: a head, byte and text strings,
// small maps.
func cborHead(b []byte, major byte, n int) []byte {
	switch {
	case n < 24:
		return append(b, major<<5|byte(n)) // #nosec G115 -- n < 24 here
	case n < 256:
		return append(b, major<<5|24, byte(n))
	default:
		return binary.BigEndian.AppendUint16(append(b, major<<5|25), uint16(n)) // #nosec G115 -- this test authenticator's strings and maps are far below 65536
	}
}

func cborMap(n int) []byte                { return cborHead(nil, 5, n) }
func cborMap0(b []byte) []byte            { return cborHead(b, 5, 0) }
func cborBytes(b []byte, v []byte) []byte { return append(cborHead(b, 2, len(v)), v...) }
func cborText(b []byte, s string) []byte  { return append(cborHead(b, 3, len(s)), s...) }
