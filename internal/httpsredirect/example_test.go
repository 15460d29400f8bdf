package httpsredirect_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkhq/bulwark/internal/httpsredirect"
)

func ExampleTarget() {
	// A listener for plain HTTP next to HTTPS on port 8443: keep the port
	// only when the client named the HTTPS port itself.
	keepPort := func(port string) bool { return port == "8443" }
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, location, ok := httpsredirect.Target(r, keepPort)
		if !ok {
			http.Error(w, "Bad Request: invalid Host header or request target", status)
			return
		}
		w.Header().Set("Location", location)
		w.WriteHeader(status)
	})

	for _, host := range []string{"example.com:80", "example.com:8443", "evil.example@example.com"} {
		r := httptest.NewRequest("POST", "http://example.com/login?next=/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		redirect.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Location"))
	}
	// Output:
	// 308 https://example.com/login?next=/
	// 308 https://example.com:8443/login?next=/
	// 400
}
