package app

import (
	"net"
	"net/http"
	"strings"
)

// hostCheck refuses requests whose Host header is not in ALLOWED_HOSTS
// (Django's setting, with its meaning): a forged Host cannot reach a
// redirect, a link or the CSRF origin check. Health checks are left alone,
// because load balancers probe by address.
type hostCheck struct {
	exact    map[string]bool
	suffixes []string // ".example.com" allows example.com and its subdomains
	any      bool
}

func newHostCheck(allowed []string) hostCheck {
	h := hostCheck{exact: map[string]bool{}}
	for _, a := range allowed {
		switch {
		case a == "*":
			h.any = true
		case strings.HasPrefix(a, "."):
			h.suffixes = append(h.suffixes, a)
			h.exact[a[1:]] = true
		default:
			h.exact[a] = true
		}
	}
	return h
}

// allowed reports whether host (as in a Host header, port optional) is
// allowed.
func (h hostCheck) allowed(host string) bool {
	if h.any {
		return true
	}
	name := strings.ToLower(host)
	if n, _, err := net.SplitHostPort(name); err == nil {
		name = n
		if strings.Contains(name, ":") {
			name = "[" + name + "]" // IPv6, as ALLOWED_HOSTS writes it
		}
	}
	name = strings.TrimSuffix(name, ".")
	if h.exact[name] {
		return true
	}
	for _, s := range h.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Handler answers 400 to a request for a host that is not allowed.
func (h hostCheck) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.allowed(r.Host) && !isHealthCheck(r) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte("Bad Request: this server does not serve that host name.\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
