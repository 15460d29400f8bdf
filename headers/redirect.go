package headers

import (
	"net/http"

	"github.com/bulwarkhq/bulwark/internal/httpsredirect"
)

// redirectToHTTPS answers r with a redirect to the same host and path over
// https (see httpsredirect.Target for what is checked). Behind a proxy the
// public https port is unknown, so the port the client named is kept unless
// it is 80, the plain-HTTP port, where https would fail.
func redirectToHTTPS(w http.ResponseWriter, r *http.Request) {
	status, location, ok := httpsredirect.Target(r, func(port string) bool { return port != "80" })
	if !ok {
		http.Error(w, "Bad Request: invalid Host header or request target", status)
		return
	}
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}
