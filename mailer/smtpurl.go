package mailer

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// SMTPConfig is a parsed SMTP_URL: where to deliver and how to secure the
// connection.
type SMTPConfig struct {
	Host     string // host name or IP address, without brackets
	Port     int    // 587 for smtp:// and 465 for smtps:// unless given
	Username string // empty: no authentication
	Password string

	// ImplicitTLS is true for smtps://: TLS from the first byte.
	ImplicitTLS bool
	// StartTLSOptional is true only for smtp:// to a loopback host (a
	// local relay or a test server without a certificate). Everywhere else
	// smtp:// refuses to send unless the server offers STARTTLS, so that
	// passwords and reset links never cross a network in clear text.
	StartTLSOptional bool
}

// errSMTPURL never carries the URL: it may hold a password.
var errSMTPURL = errors.New("mailer: want smtp://[user:password@]host[:port] or smtps://[user:password@]host[:port]")

// ParseSMTPURL reads an SMTP URL of the form
// smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465
// (implicit TLS). User and password are percent-decoded. The error never
// repeats the URL, which may hold a password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return SMTPConfig{}, errSMTPURL
	}
	var c SMTPConfig
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.ImplicitTLS = 465, true
	default:
		return SMTPConfig{}, errSMTPURL
	}
	c.Host = u.Hostname()
	if c.Host == "" || strings.ContainsAny(c.Host, " \t\r\n%/\\") {
		return SMTPConfig{}, errSMTPURL
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return SMTPConfig{}, errSMTPURL
		}
		c.Port = int(n)
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" {
			return SMTPConfig{}, errSMTPURL
		}
	}
	c.StartTLSOptional = !c.ImplicitTLS && isLoopback(c.Host)
	return c, nil
}

// Addr returns host:port for dialing.
func (c SMTPConfig) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
