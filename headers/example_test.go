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

	h := headers.New(headers.Policy{
		HSTSMaxAge: 365 * 24 * time.Hour,
		ForceHTTPS: true,
		ReportURI:  "/csp-report",
	})
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
