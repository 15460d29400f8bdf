package clientip_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/bulwarkhq/bulwark/clientip"
)

func Example() {
	// Only the reverse proxy on this machine may tell us who the client is.
	res := clientip.New([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})

	h := res.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _ := clientip.FromContext(r.Context())
		fmt.Println(ip, clientip.Key(ip), res.IsHTTPS(r))
	}))

	// Through the proxy: the client wrote "6.6.6.6" itself, the proxy appended
	// the address it really saw.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:51000"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.23")
	r.Header.Set("X-Forwarded-Proto", "https")
	h.ServeHTTP(httptest.NewRecorder(), r)

	// Straight from the internet: the headers are the client's own words.
	r = httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[2001:db8:1:2::99]:443"
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	r.Header.Set("X-Forwarded-Proto", "https")
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// 198.51.100.23 198.51.100.23 true
	// 2001:db8:1:2::99 2001:db8:1:2::/64 false
}
