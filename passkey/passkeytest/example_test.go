package passkeytest_test

import (
	"encoding/json"
	"fmt"
	"log"

	"github.com/bulwarkhq/bulwark/passkey/passkeytest"
)

// An Authenticator answers the options a WebAuthn server sends, as a
// browser with a passkey would; a test posts the answers to the server's
// finish endpoints. Editing an answer before posting it (another user
// handle, a replay) or setting the counter back plays an attack.
func Example() {
	auth := passkeytest.New("https://example.com")

	// What a server's registration begin returned (go-webauthn's form).
	creation := []byte(`{"publicKey":{"challenge":"c2VydmVyLWNob3Nlbi1jaGFsbGVuZ2U",
		"rp":{"id":"example.com","name":"Example"},
		"user":{"id":"dXNlci1oYW5kbGU","name":"alice@example.com","displayName":"Alice"}}}`)
	answer, id, err := auth.Register(creation)
	if err != nil {
		log.Fatal(err)
	}
	var reg map[string]any
	json.Unmarshal(answer, &reg)
	fmt.Println(reg["type"], len(id), "byte credential id")

	// And a sign-in.
	request := []byte(`{"publicKey":{"challenge":"YW5vdGhlci1jaGFsbGVuZ2UtMTIz","rpId":"example.com"}}`)
	assertion, err := auth.Login(request)
	if err != nil {
		log.Fatal(err)
	}
	var login struct {
		Response struct {
			UserHandle string `json:"userHandle"`
		} `json:"response"`
	}
	json.Unmarshal(assertion, &login)
	fmt.Println("signed by the passkey of", login.Response.UserHandle)
	// Output:
	// public-key 16 byte credential id
	// signed by the passkey of dXNlci1oYW5kbGU
}
