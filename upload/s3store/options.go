package s3store

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Options says where a [Store] keeps its objects and how it signs in.
type Options struct {
	// Endpoint is the S3 server: "host:port", "https://host[:port]" or
	// "http://host[:port]". Empty means Amazon S3 (s3.amazonaws.com, with
	// the regional host chosen from Region).
	Endpoint string

	// Region is the bucket's region, e.g. "us-east-1". Empty asks the
	// server once for the bucket's location.
	Region string

	// Bucket holds the objects; it must exist. Required.
	Bucket string

	// AccessKeyID and SecretAccessKey sign every request (AWS Signature
	// Version 4). Both are required. The secret is given to the signer
	// only: no error, log line or String of Options shows it.
	AccessKeyID, SecretAccessKey string

	// Secure forces TLS. Without it TLS is still used, unless the endpoint
	// is an explicit http:// URL or a bare host:port on a loopback address
	// (localhost, 127.0.0.0/8, ::1): plain HTTP is never chosen for a
	// remote server unless written out. Secure with an http:// endpoint is
	// an error.
	Secure bool

	// Prefix is put before every key, so that the store can share a
	// bucket: segments of letters, digits, '.', '_' and '-' separated by
	// '/', such as "uploads/" (a missing final '/' is added). Empty: the
	// bucket's top level.
	Prefix string
}

// String describes o for logs, with the secret access key redacted.
func (o Options) String() string {
	secret := ""
	if o.SecretAccessKey != "" {
		secret = "[REDACTED]"
	}
	return fmt.Sprintf("s3store.Options{Endpoint:%q Region:%q Bucket:%q AccessKeyID:%q SecretAccessKey:%q Secure:%v Prefix:%q}",
		o.Endpoint, o.Region, o.Bucket, o.AccessKeyID, secret, o.Secure, o.Prefix)
}

// GoString is String, so that %#v does not print the secret either.
func (o Options) GoString() string { return o.String() }

// ParseURL reads the UPLOAD_STORAGE form of an S3 location,
//
//	s3://BUCKET[/PREFIX/]?endpoint=URL&region=REGION
//
// where both parameters are optional (no endpoint: Amazon S3; no region:
// asked of the server) and a path is the key prefix. The keys are not part
// of the URL (a URL with user information is refused): set AccessKeyID and
// SecretAccessKey from elsewhere, such as S3_ACCESS_KEY_ID and
// S3_SECRET_ACCESS_KEY. Errors say what is wrong without repeating the URL.
func ParseURL(s string) (Options, error) {
	const form = "want s3://BUCKET?endpoint=URL&region=REGION"
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Options{}, errors.New("s3store: " + form)
	}
	if strings.ContainsRune(rest, '#') {
		return Options{}, errors.New("s3store: the URL must not have a #fragment; " + form)
	}
	location, query, _ := strings.Cut(rest, "?")
	if strings.ContainsAny(location, "@:") {
		return Options{}, errors.New("s3store: the URL must not hold keys or a port: the endpoint goes in ?endpoint=, the keys in S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY")
	}
	var o Options
	o.Bucket, o.Prefix, _ = strings.Cut(location, "/")
	params, err := url.ParseQuery(query)
	if err != nil {
		return Options{}, errors.New("s3store: the URL's query is malformed; " + form)
	}
	for name, values := range params {
		var field *string
		switch name {
		case "endpoint":
			field = &o.Endpoint
		case "region":
			field = &o.Region
		default:
			return Options{}, fmt.Errorf("s3store: unknown URL parameter %q (the parameters are endpoint and region; keys go in S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY)", clip(name))
		}
		if len(values) != 1 || values[0] == "" {
			return Options{}, fmt.Errorf("s3store: URL parameter %s must be given once, not empty", name)
		}
		*field = values[0]
	}
	if _, err := o.resolve(); err != nil {
		return Options{}, err
	}
	return o, nil
}

// resolved is what New needs from Options once they are checked.
type resolved struct {
	host   string // host[:port] for the client
	tls    bool
	prefix string // "" or ending in '/'
}

// resolve checks everything in o but the keys.
func (o Options) resolve() (resolved, error) {
	var r resolved
	if err := checkBucket(o.Bucket); err != nil {
		return r, err
	}
	if !validRegion(o.Region) {
		return r, errors.New("s3store: the region must be up to 64 letters, digits, '-' and '_', such as us-east-1")
	}
	var err error
	if r.host, r.tls, err = endpoint(o.Endpoint, o.Secure); err != nil {
		return r, err
	}
	if r.prefix, err = prefix(o.Prefix); err != nil {
		return r, err
	}
	return r, nil
}

// checkBucket applies S3's bucket naming rules (the strict ones every
// S3-compatible server accepts).
func checkBucket(b string) error {
	const rule = "s3store: a bucket name is 3 to 63 lowercase letters, digits, '.' and '-', beginning and ending with a letter or digit"
	if len(b) < 3 || len(b) > 63 || !isLowerAlnum(b[0]) || !isLowerAlnum(b[len(b)-1]) {
		return errors.New(rule)
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; !isLowerAlnum(c) && c != '.' && c != '-' {
			return errors.New(rule)
		}
	}
	if strings.Contains(b, "..") || strings.Contains(b, ".-") || strings.Contains(b, "-.") {
		return errors.New(rule + ", with no '..', '.-' or '-.'")
	}
	if _, err := netip.ParseAddr(b); err == nil {
		return errors.New("s3store: a bucket name must not be an IP address")
	}
	return nil
}

func validRegion(r string) bool {
	if len(r) > 64 {
		return false
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; !isLowerAlnum(c) && !('A' <= c && c <= 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// endpoint returns the host[:port] to connect to and whether to use TLS.
func endpoint(e string, secure bool) (string, bool, error) {
	if e == "" {
		return "s3.amazonaws.com", true, nil
	}
	const form = "want host:port, https://host[:port] or http://host[:port]"
	scheme, hostport, explicit := strings.Cut(e, "://")
	if !explicit {
		hostport = e
	} else if scheme != "http" && scheme != "https" {
		return "", false, errors.New("s3store: the endpoint's scheme must be http or https; " + form)
	}
	if strings.ContainsRune(hostport, '@') {
		return "", false, errors.New("s3store: the endpoint must not hold keys (set AccessKeyID and SecretAccessKey)")
	}
	hostport = strings.TrimSuffix(hostport, "/")
	host, err := checkHostPort(hostport)
	if err != nil {
		return "", false, errors.New("s3store: the endpoint " + err.Error() + "; " + form)
	}
	switch {
	case explicit && scheme == "http" && secure:
		return "", false, errors.New("s3store: Secure is set but the endpoint is http://")
	case explicit:
		return hostport, scheme == "https", nil
	default:
		return hostport, secure || !isLoopback(host), nil
	}
}

// checkHostPort checks "host", "host:port", "[v6]" or "[v6]:port" and
// returns the host alone.
func checkHostPort(hp string) (string, error) {
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", errors.New("has an unclosed '['")
		}
		host, port = hp[1:end], hp[end+1:]
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", errors.New("has a bad IPv6 address")
		}
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return "", errors.New("has text after its IPv6 address")
			}
			port = p
		}
	} else {
		if i := strings.LastIndexByte(hp, ':'); i >= 0 {
			host, port = hp[:i], hp[i+1:]
		}
		if !validHostname(host) {
			return "", errors.New("has a bad host name (letters, digits, '.' and '-' only)")
		}
	}
	if port != "" || strings.HasSuffix(hp, ":") {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "", errors.New("has a bad port")
		}
	}
	return host, nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 || h[0] == '.' || h[0] == '-' {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !isLowerAlnum(c) && !('A' <= c && c <= 'Z') && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// prefix checks a key prefix and gives it its final '/'.
func prefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	const rule = "s3store: a prefix is up to 512 bytes of segments of letters, digits, '.', '_' and '-' separated by '/' (no '.' or '..' segment, no leading '/')"
	if len(p) > 512 {
		return "", errors.New(rule)
	}
	p = strings.TrimSuffix(p, "/")
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", errors.New(rule)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isLowerAlnum(c) && !('A' <= c && c <= 'Z') && c != '.' && c != '_' && c != '-' {
				return "", errors.New(rule)
			}
		}
	}
	return p + "/", nil
}

func isLowerAlnum(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' }

// clip shortens text from the caller for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
