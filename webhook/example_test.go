package webhook_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bulwarkhq/bulwark/webhook"
)

func Example() {
	current := []byte("whsec_current_0123456789abcdef0123")
	previous := []byte("whsec_previous_0123456789abcdef012") // still accepted while senders move over
	v, err := webhook.New(webhook.Options{
		Secrets: [][]byte{current, previous},
		Replay:  webhook.NewMemoryReplayStore(webhook.MemoryOptions{}), // one process; share a store across instances
	})
	if err != nil {
		panic(err)
	}
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // the verified body
		fmt.Println("received", string(body))
		w.WriteHeader(http.StatusNoContent)
	}))

	send := func(secret []byte, at time.Time, body string) {
		r := httptest.NewRequest("POST", "/api/webhook", bytes.NewBufferString(body))
		r.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, at, []byte(body)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code)
	}
	now := time.Now()
	send(current, now, `{"event":"ping"}`)
	send(current, now, `{"event":"ping"}`)  // the same delivery again
	send(previous, now, `{"event":"pong"}`) // the old secret, during rotation
	send(current, now.Add(-time.Hour), `{"event":"old"}`)
	send([]byte("a guess"), now, `{"event":"forged"}`)
	// Output:
	// received {"event":"ping"}
	// 204
	// 409
	// received {"event":"pong"}
	// 204
	// 401
	// 401
}

func ExampleSign() {
	fmt.Println(webhook.Sign([]byte("whsec_example"), time.Unix(1700000000, 0), []byte(`{"event":"ping"}`)))
	// Output: t=1700000000,v1=600623fb34dc3d02d7a4cd28e53f5bb9bc6c186fb17c7098d4a8cd58e619c089
}
