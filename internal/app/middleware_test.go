package app

import (
	"net/http"
	"strings"
	"testing"
)

func TestRequestIDFromTrustedProxyOnly(t *testing.T) {
	get := func(s *testServer, id string) string {
		req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
		req.Header.Set("X-Request-Id", id)
		return s.browser(t).do(req).Header.Get("X-Request-Id")
	}
	untrusted := startApp(t, nil)
	if got := get(untrusted, "forged-id"); got == "forged-id" || got == "" {
		t.Errorf("without trusted proxies the client's id was kept: %q", got)
	}
	trusted := startApp(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32"})
	if got := get(trusted, "lb-1234"); got != "lb-1234" {
		t.Errorf("a trusted proxy's id was replaced: %q", got)
	}
	// Even a trusted proxy cannot put a line break into the log.
	if got := get(trusted, "x\" level=ERROR msg=forged"); strings.Contains(got, " ") {
		t.Errorf("an id with spaces and quotes was kept: %q", got)
	}
}

func TestPanicGives500WithoutInternals(t *testing.T) {
	s := startApp(t, nil)
	h := s.app.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret internal detail") }))
	h = s.app.headers.Handler(h)
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest("GET", "/boom", nil)
	h.ServeHTTP(rec, req)
	if rec.status != http.StatusInternalServerError || strings.Contains(rec.body.String(), "secret internal detail") {
		t.Fatalf("panic answered %d %q", rec.status, rec.body.String())
	}
	if rec.header.Get("Content-Security-Policy") == "" || rec.header.Get("X-Frame-Options") != "DENY" {
		t.Fatal("the 500 lacks the security headers")
	}
	if !strings.Contains(s.logs.String(), "secret internal detail") {
		t.Fatal("the panic was not logged")
	}
}

type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
