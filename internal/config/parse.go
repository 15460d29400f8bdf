package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/mailer"
)

// parseBool accepts true/false, 1/0 and yes/no, in any case.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// sizeUnits are the suffixes parseSize accepts (lower case). Bare "k", "m"
// and "g" are refused on purpose: they are ambiguous between 10^3 and 2^10.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "kib": 1 << 10,
	"mb": 1e6, "mib": 1 << 20,
	"gb": 1e9, "gib": 1 << 30,
	"tb": 1e12, "tib": 1 << 40,
}

var errSize = errors.New("want a size like 16MiB, 16MB or a number of bytes")

// parseSize reads a byte count: a whole number, optionally followed
// (spaces allowed) by KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB
// (powers of 1024), case-insensitively.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errSize
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, errSize
	}
	mult, ok := sizeUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	if !ok || n > math.MaxInt64/mult {
		return 0, errSize
	}
	return n * mult, nil
}

// parseProxies reads a comma-separated list of CIDR prefixes and single
// addresses (a single address is a /32 or /128). Results are canonical:
// masked (10.1.2.3/8 becomes 10.0.0.0/8), IPv4-mapped IPv6 turned into
// IPv4 (so they match the IPv4 RemoteAddr Go reports), duplicates dropped.
// Zones (fe80::1%eth0) are refused: a zone is not part of a network.
func parseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	seen := make(map[netip.Prefix]bool)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parseProxy(item)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s", quote(item))
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func parseProxy(item string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(item, "/") {
		var err error
		if p, err = netip.ParsePrefix(item); err != nil {
			return netip.Prefix{}, err
		}
	} else {
		a, err := netip.ParseAddr(item)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("zone")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// parseExtensions reads comma-separated file extensions, with or without
// a leading dot, into lower case without dots; duplicates are dropped.
// Each must be 1 to 16 ASCII letters or digits.
func parseExtensions(s string) ([]string, bool) {
	var out []string
	seen := make(map[string]bool)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(item), "."))
		if item == "" {
			continue
		}
		if len(item) > 16 || strings.IndexFunc(item, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
		}) >= 0 {
			return nil, false
		}
		if !seen[item] {
			seen[item] = true
			out = append(out, item)
		}
	}
	return out, len(out) > 0
}

// validAddr accepts HOST:PORT with a numeric port and an empty host, an IP
// address or a host name.
func validAddr(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return false
	}
	if host == "" {
		return true
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return validHostname(host)
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validDatabaseURL accepts what store.Open accepts. It looks at the bytes
// only to answer yes or no: callers must not show them.
func validDatabaseURL(b []byte) bool {
	defer clear(b)
	return store.CheckURL(string(b)) == nil
}

// validRedisURL accepts what go-redis (which the service uses) accepts,
// restricted to the redis:// and rediss:// schemes.
func validRedisURL(b []byte) bool {
	defer clear(b)
	_, err := parseRedisURL(b)
	return err == nil
}

func parseRedisURL(b []byte) (*redis.Options, error) {
	s := string(b)
	scheme, _, ok := strings.Cut(s, "://")
	if scheme = strings.ToLower(scheme); !ok || (scheme != "redis" && scheme != "rediss") {
		return nil, errors.New("scheme")
	}
	return redis.ParseURL(s)
}

// validAllowedHost reports an ALLOWED_HOSTS entry: "*", a host name or IP
// (IPv6 in brackets), optionally with a leading "." for subdomains.
func validAllowedHost(h string) bool {
	if h == "*" {
		return true
	}
	h = strings.TrimPrefix(h, ".")
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		_, err := netip.ParseAddr(h[1 : len(h)-1])
		return err == nil
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// parseBaseURL reads a public origin: http or https, a host name or IP
// address, an optional port, and nothing else (a trailing "/" is
// dropped). The result is lower case: scheme://host[:port].
func parseBaseURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", false
		}
		if a.Is6() {
			host = "[" + host + "]"
		}
	} else if !validHostname(host) {
		return "", false
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return "", false
		}
		host += ":" + p
	} else if strings.HasSuffix(u.Host, ":") {
		return "", false
	}
	return scheme + "://" + host, true
}

// validSMTPURL accepts what the mailer accepts. Like validDatabaseURL it
// looks at the bytes only to answer yes or no.
func validSMTPURL(b []byte) bool {
	defer clear(b)
	_, err := mailer.ParseSMTPURL(string(b))
	return err == nil
}
