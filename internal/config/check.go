package config

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkhq/bulwark/secrets"
)

// Severity ranks a Finding. The service refuses to start in production on
// any Error.
type Severity int

// Severities, in increasing order.
const (
	Info Severity = iota
	Warning
	Error
)

// String returns "INFO", "WARNING" or "ERROR".
func (s Severity) String() string {
	switch s {
	case Info:
		return "INFO"
	case Warning:
		return "WARNING"
	case Error:
		return "ERROR"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// Finding is one result of Check.
//
// IDs are stable ("bulwark.E001"); their letter is the severity the
// finding has when checking for production. Some findings are milder in
// development: a weak SECRET_KEY is an Error in production and only Info
// in development.
type Finding struct {
	Severity Severity
	ID       string
	Message  string // what is wrong, without secret values
	Fix      string // what to do about it
}

// String formats the finding on one line, e.g.
//
//	ERROR   bulwark.E001 SECRET_KEY is shorter than 32 bytes. Fix: set SECRET_KEY to 64 random hex characters (openssl rand -hex 32)
func (f Finding) String() string {
	msg := oneLine(f.Message)
	if msg != "" && !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	s := fmt.Sprintf("%-7s %s %s", f.Severity, f.ID, msg)
	if f.Fix != "" {
		s += " Fix: " + oneLine(f.Fix)
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

const (
	sixMonths      = 15768000 * time.Second // HSTS preload lists want a year; below six months is weak
	certRenewAhead = 30 * 24 * time.Hour
)

// riskyExtensions are upload types a browser may run as active content if
// they are ever served inline.
var riskyExtensions = map[string]bool{
	"html": true, "htm": true, "xhtml": true, "xht": true, "shtml": true, "svg": true, "svgz": true,
	"xml": true, "xsl": true, "js": true, "mjs": true, "swf": true, "php": true, "exe": true,
	"bat": true, "cmd": true, "sh": true, "jar": true, "hta": true, "wasm": true,
}

// privateNets are ranges wide but private: trusting all of one is a normal
// set-up (a Kubernetes cluster network, say).
var privateNets = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("::1/128"),
}

// Check audits cfg and returns its findings, errors first. With deploy
// set, or in production, it checks as for production (like Django's
// `check --deploy`); otherwise findings that only matter in production are
// left out or reported as Info.
//
// Check reads the file system (the modes of DATA_DIR and its key file, the
// TLS files) but changes nothing.
func Check(cfg *Config, deploy bool) []Finding {
	c := checker{cfg: cfg, strict: deploy || cfg.Production}
	c.secretKey()
	c.transport()
	c.proxies()
	c.redis()
	c.database()
	c.files()
	c.tls()
	c.listeners()
	c.mail()
	c.other()
	slices.SortStableFunc(c.out, func(a, b Finding) int {
		if a.Severity != b.Severity {
			return cmp.Compare(b.Severity, a.Severity)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return c.out
}

type checker struct {
	cfg    *Config
	strict bool
	out    []Finding
}

func (c *checker) add(sev Severity, id, msg, fix string) {
	c.out = append(c.out, Finding{Severity: sev, ID: "bulwark." + id, Message: msg, Fix: fix})
}

// prodOr is the severity of a finding that is sev in production and
// devSev in development.
func (c *checker) prodOr(sev, devSev Severity) Severity {
	if c.strict {
		return sev
	}
	return devSev
}

const keyFix = "set SECRET_KEY to " + genKeyHint

func (c *checker) secretKey() {
	cfg := c.cfg
	switch {
	case cfg.DevKey && cfg.SecretKey.IsZero():
		c.add(c.prodOr(Error, Info), "E002",
			"SECRET_KEY is not set: the development key in "+cfg.DevKeyPath()+" is used", keyFix)
	case cfg.DevKey:
		c.add(c.prodOr(Error, Info), "E002",
			"SECRET_KEY is the development key from "+cfg.DevKeyPath(), keyFix+", different from the development key")
	case cfg.SecretKey.IsZero():
		c.add(Error, "E002", "SECRET_KEY is not set", keyFix)
	default:
		if err := secrets.CheckStrength(cfg.SecretKey.Reveal()); err != nil {
			c.add(c.prodOr(Error, Info), "E001", "SECRET_KEY "+strengthProblem(err), keyFix)
		}
	}
	for i, fb := range cfg.SecretKeyFallbacks {
		if err := secrets.CheckStrength(fb.Reveal()); err != nil {
			c.add(c.prodOr(Error, Info), "E003",
				fmt.Sprintf("SECRET_KEY_FALLBACKS entry %d %s", i+1, strengthProblem(err)),
				"remove it from SECRET_KEY_FALLBACKS; sessions signed with it will have to sign in again")
		}
		if fb.Equal(cfg.SecretKey) {
			c.add(Info, "I030", fmt.Sprintf("SECRET_KEY_FALLBACKS entry %d is SECRET_KEY itself", i+1),
				"remove it from SECRET_KEY_FALLBACKS")
		}
	}
}

func (c *checker) transport() {
	cfg := c.cfg
	if c.strict && !cfg.ForceHTTPS {
		c.add(Error, "E004", "FORCE_HTTPS is off: pages, passwords and session cookies can travel over plain HTTP",
			"set FORCE_HTTPS=true (the production default)")
	}
	if c.strict && !cfg.SessionCookieSecure {
		c.add(Error, "E005", "SESSION_COOKIE_SECURE is off: browsers send the session cookie over plain HTTP",
			"set SESSION_COOKIE_SECURE=true (the production default)")
	}
	if cfg.ForceHTTPS && cfg.HSTSMaxAge < sixMonths {
		c.add(Warning, "W012", fmt.Sprintf("HSTS_MAX_AGE is %d seconds, below six months: browsers forget to insist on HTTPS soon", int64(cfg.HSTSMaxAge/time.Second)),
			"set HSTS_MAX_AGE=31536000 (one year) once HTTPS works everywhere")
	}
	if c.strict && cfg.ForceHTTPS && !cfg.TLS() && len(cfg.TrustedProxies) == 0 {
		c.add(Warning, "W020", "FORCE_HTTPS is on but the service neither serves TLS itself nor trusts a proxy: behind a TLS-terminating proxy every request looks like plain HTTP and is redirected forever",
			"set TRUSTED_PROXIES to your proxy's address, or TLS_CERT_FILE and TLS_KEY_FILE")
	}
}

func (c *checker) proxies() {
	for _, p := range c.cfg.TrustedProxies {
		switch {
		case p.Bits() == 0:
			c.add(Error, "E006", fmt.Sprintf("TRUSTED_PROXIES contains %s: any client can forge X-Forwarded-For (dodging rate limits, framing other addresses) and X-Forwarded-Proto", p),
				"list only the addresses or subnets of your own proxies")
		case isWide(p):
			c.add(Warning, "W007", fmt.Sprintf("TRUSTED_PROXIES contains the very wide public range %s: clients inside it can forge X-Forwarded-For", p),
				"list only the addresses or subnets of your own proxies")
		}
	}
}

// isWide reports whether p is a very wide public range: shorter than /8
// for IPv4 or /32 for IPv6 and not inside a private range.
func isWide(p netip.Prefix) bool {
	for _, priv := range privateNets {
		if priv.Bits() <= p.Bits() && priv.Contains(p.Addr()) {
			return false
		}
	}
	if p.Addr().Is4() {
		return p.Bits() < 8
	}
	return p.Bits() < 32
}

func (c *checker) redis() {
	if c.cfg.RedisURL.IsZero() {
		if c.strict && c.cfg.DatabaseScheme() != "sqlite" {
			c.add(Info, "I026", "REDIS_URL is not set: each instance keeps its own rate limits in memory",
				"set REDIS_URL when running more than one instance")
		}
		return
	}
	raw := c.cfg.RedisURL.Reveal()
	defer clear(raw)
	opts, err := parseRedisURL(raw)
	if err != nil {
		c.add(Error, "E008", "REDIS_URL cannot be parsed", "want redis://:PASSWORD@HOST:6379/0 or rediss://HOST:6380/0")
		return
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		host = opts.Addr
	}
	if !isLoopbackHost(host) && opts.Password == "" && opts.TLSConfig == nil {
		c.add(Error, "E008", "REDIS_URL points at "+host+", not a loopback address, with neither a password nor TLS: anyone on the network can read sessions and reset rate limits",
			"set a password (requirepass) in REDIS_URL, and prefer rediss:// (TLS)")
	}
	if c.strict && c.cfg.RateLimitFailOpen {
		c.add(Warning, "W021", "RATELIMIT_FAIL_OPEN is on: while Redis is unreachable, nothing is rate limited (login guessing included)",
			"leave RATELIMIT_FAIL_OPEN unset unless availability matters more than brute-force protection")
	}
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

func (c *checker) database() {
	if c.strict && c.cfg.DatabaseScheme() == "sqlite" {
		c.add(Warning, "W009", "DATABASE_URL is SQLite: fine for a single instance, but instances cannot share it",
			"use postgres:// (and REDIS_URL) to run more than one instance")
	}
}

// files checks the modes of DATA_DIR and the development key file, when
// they exist.
func (c *checker) files() {
	if runtime.GOOS == "windows" {
		return // permission bits are synthetic there
	}
	if fi, err := os.Stat(c.cfg.DataDir); err == nil && fi.Mode().Perm()&0o066 != 0 {
		c.add(Error, "E010", fmt.Sprintf("DATA_DIR %s has mode %04o: group or others can read or write the database, uploads and key", c.cfg.DataDir, fi.Mode().Perm()),
			"chmod 700 "+c.cfg.DataDir)
	}
	p := c.cfg.DevKeyPath()
	if fi, err := os.Lstat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
		c.add(Error, "E011", fmt.Sprintf("%s has mode %04o: group or others can read the signing key and forge sessions", p, fi.Mode().Perm()),
			"chmod 600 "+p)
	}
}

func (c *checker) tls() {
	cfg := c.cfg
	if !cfg.TLS() {
		if cfg.HTTPAddr != "" {
			c.add(Warning, "W024", "HTTP_ADDR is set but TLS is off: the redirect listener is not started",
				"set TLS_CERT_FILE and TLS_KEY_FILE, or unset HTTP_ADDR")
		}
		return
	}
	ok := true
	for _, f := range []struct{ name, path string }{{"TLS_CERT_FILE", cfg.TLSCertFile}, {"TLS_KEY_FILE", cfg.TLSKeyFile}} {
		if err := readable(f.path); err != nil {
			ok = false
			c.add(Error, "E013", fmt.Sprintf("%s %s cannot be read: %v", f.name, f.path, err), "point "+f.name+" at a readable PEM file")
		}
	}
	if !ok {
		return
	}
	if fi, err := os.Stat(cfg.TLSKeyFile); err == nil && runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		c.add(Warning, "W027", fmt.Sprintf("TLS_KEY_FILE %s has mode %04o: group or others can read the private key", cfg.TLSKeyFile, fi.Mode().Perm()),
			"chmod 600 "+cfg.TLSKeyFile)
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		c.add(Error, "E013", "TLS_CERT_FILE and TLS_KEY_FILE do not hold a matching certificate and key: "+err.Error(),
			"point them at the PEM certificate chain and its private key")
		return
	}
	if leaf := cert.Leaf; leaf != nil {
		now := time.Now()
		switch left := leaf.NotAfter.Sub(now); {
		case left <= 0:
			c.add(Error, "E014", "the certificate in TLS_CERT_FILE expired on "+leaf.NotAfter.UTC().Format(time.DateOnly), "renew it")
		case left < certRenewAhead:
			c.add(Warning, "W015", "the certificate in TLS_CERT_FILE expires on "+leaf.NotAfter.UTC().Format(time.DateOnly), "renew it")
		}
	}
}

// readable opens and reads one byte of path, to tell a missing or
// unreadable file from a working one.
func readable(path string) error {
	// #nosec G304 -- the path is the operator's setting that check is testing
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	defer f.Close()
	if _, err := f.Read(make([]byte, 1)); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	return nil
}

func (c *checker) listeners() {
	cfg := c.cfg
	if cfg.MetricsAddr != "" {
		if sameListener(cfg.MetricsAddr, cfg.Addr) {
			c.add(Error, "E016", "METRICS_ADDR "+cfg.MetricsAddr+" is the same listener as ADDR "+cfg.Addr+": metrics must never be served to the public",
				"give METRICS_ADDR its own port on a private interface, e.g. 127.0.0.1:9090")
		} else if !isLoopbackListener(cfg.MetricsAddr) {
			c.add(Warning, "W023", "METRICS_ADDR "+cfg.MetricsAddr+" listens beyond loopback: metrics reveal traffic and internals",
				"bind it to 127.0.0.1 or a private interface, or firewall the port")
		}
		if cfg.HTTPAddr != "" && sameListener(cfg.MetricsAddr, cfg.HTTPAddr) {
			c.add(Error, "E016", "METRICS_ADDR "+cfg.MetricsAddr+" is the same listener as HTTP_ADDR "+cfg.HTTPAddr,
				"give METRICS_ADDR its own port")
		}
	}
	if cfg.HTTPAddr != "" && sameListener(cfg.HTTPAddr, cfg.Addr) {
		c.add(Error, "E016", "HTTP_ADDR "+cfg.HTTPAddr+" is the same listener as ADDR "+cfg.Addr,
			"give HTTP_ADDR its own port, e.g. :80")
	}
}

// sameListener reports whether two HOST:PORT listeners would collide: the
// same port, and the same host or either one on all interfaces.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	if pa != pb || pa == "0" {
		return false
	}
	return strings.EqualFold(ha, hb) || isAnyHost(ha) || isAnyHost(hb)
}

func isAnyHost(h string) bool {
	if h == "" {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsUnspecified()
}

func isLoopbackListener(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	return err == nil && isLoopbackHost(h)
}

func (c *checker) mail() {
	cfg := c.cfg
	if c.strict && !strings.HasPrefix(cfg.BaseURL, "https://") {
		c.add(Error, "E034", "BASE_URL is "+cfg.BaseURL+", not https: links in mail (password reset, verification) would travel in clear text, and passkeys need a secure origin",
			"set BASE_URL to the public https origin, e.g. BASE_URL=https://bulwark.example.com")
	}
	if c.strict && !cfg.MailConfigured() {
		c.add(Warning, "W035", "SMTP_URL is not set: account recovery is disabled (no password reset, no email verification mail)",
			"set SMTP_URL=smtp://USER:PASSWORD@HOST:587 (STARTTLS) or smtps://… and MAIL_FROM")
	}
	if c.strict && cfg.EmailVerification != VerificationMandatory {
		c.add(Info, "I036", "EMAIL_VERIFICATION is "+cfg.EmailVerification+": registration tells whether an address already has an account",
			"set EMAIL_VERIFICATION=mandatory (the production default)")
	}
}

func (c *checker) other() {
	cfg := c.cfg
	if cfg.PasswordMinLength < defaultPasswordMinLength {
		c.add(c.prodOr(Warning, Info), "W017", fmt.Sprintf("PASSWORD_MIN_LENGTH is %d: NIST SP 800-63B-4 asks for 15 when a password is the only factor", cfg.PasswordMinLength),
			"set PASSWORD_MIN_LENGTH=15 or unset it")
	}
	if !cfg.WebhookSecret.IsZero() {
		if err := secrets.CheckStrength(cfg.WebhookSecret.Reveal()); err != nil {
			c.add(c.prodOr(Warning, Info), "W018", "WEBHOOK_SECRET "+strengthProblem(err)+": webhook signatures can be forged by guessing it",
				"set WEBHOOK_SECRET to "+genKeyHint+" on both sides")
		}
	}
	if len(cfg.AllowedHosts) == 0 {
		c.add(c.prodOr(Error, Info), "E031", "ALLOWED_HOSTS is not set: without it every request is refused with 400",
			"set ALLOWED_HOSTS to the public host name(s), e.g. ALLOWED_HOSTS=example.com")
	} else if slices.Contains(cfg.AllowedHosts, "*") && c.strict {
		c.add(Warning, "W032", "ALLOWED_HOSTS allows any host: redirects and links may name a host an attacker chose",
			"list the public host names")
	}
	var risky []string
	for _, e := range cfg.UploadExtensions {
		if riskyExtensions[e] {
			risky = append(risky, e)
		}
	}
	if len(risky) > 0 {
		c.add(Warning, "W019", "UPLOAD_EXTENSIONS allows "+strings.Join(risky, ", ")+": files a browser can run as script if they are ever served inline",
			"allow only the types users need to upload")
	}
	if c.strict && cfg.LogLevel < slog.LevelInfo {
		c.add(Warning, "W022", "LOG_LEVEL is debug: debug logs are verbose and may carry personal data",
			"set LOG_LEVEL=info")
	}
	if cfg.SessionIdleTimeout >= cfg.SessionLifetime {
		c.add(Info, "I025", fmt.Sprintf("SESSION_IDLE_TIMEOUT (%s) is not shorter than SESSION_LIFETIME (%s), so it never applies", cfg.SessionIdleTimeout, cfg.SessionLifetime),
			"make SESSION_IDLE_TIMEOUT shorter than SESSION_LIFETIME")
	}
}
