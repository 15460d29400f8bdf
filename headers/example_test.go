package headers_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bulwarkhq/bulwark/headers"
)

func Example() {
	page := template.Must(template.New("page").Parse(
		`<script src="/static/app.js" nonce="{{.}}"></script>`))

	h, err := headers.New(headers.Policy{
		HSTSMaxAge: 365 * 24 * time.Hour,
		ForceHTTPS: true,
		ReportURI:  "/csp-report",
	})
	if err != nil {
		panic(err) // or log and exit: the policy cannot be sent as headers
	}
	srv := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = page.Execute(w, headers.Nonce(r.Context()))
	}))

	// Plain HTTP is sent to https.
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("POST", "http://example.com/login", nil))
	fmt.Println(rec.Code, rec.Header().Get("Location"))

	// Over HTTPS the page is served with the headers.
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "https://example.com/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Strict-Transport-Security"))
	fmt.Println(rec.Header().Get("X-Frame-Options"), rec.Header().Get("X-Content-Type-Options"))
	// Output:
	// 308 https://example.com/login
	// 200 max-age=31536000; includeSubDomains
	// DENY nosniff
}

func ExampleHTTPSRedirectTarget() {
	// A listener for plain HTTP next to HTTPS on port 8443: keep the port
	// only when the client named the HTTPS port itself.
	keepPort := func(port string) bool { return port == "8443" }
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, location, ok := headers.HTTPSRedirectTarget(r, keepPort)
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
