package headers

import (
	"errors"
	"slices"
	"strings"
)

// CSP is a Content-Security-Policy as a map from directive name to its
// sources, like Talisman's dict. Sources are written literally, quotes
// included: "'self'", "'none'", "https://cdn.example". A directive with no
// sources (upgrade-insecure-requests) is written by name alone.
//
// The middleware adds the nonce to the directives named in
// Policy.NonceDirectives. A fixed 'nonce-…' source here would be the same on
// every response, which defeats it, so New refuses one.
type CSP map[string][]string

// DefaultCSP returns the policy every Bulwark page is served with: only this
// origin's scripts (plus those carrying the request's nonce, added by the
// middleware), no plugins, no <base> rewriting, no framing, and forms that
// post only back to this origin.
func DefaultCSP() CSP {
	return CSP{
		"default-src":     {"'self'"},
		"script-src":      {"'self'"},
		"object-src":      {"'none'"},
		"base-uri":        {"'none'"},
		"frame-ancestors": {"'none'"},
		"form-action":     {"'self'"},
	}
}

// directiveOrder is the order directives are written in, so the header is
// the same on every run and reads like the policies in the docs. Directives
// not listed follow in alphabetical order, then the reporting ones.
var directiveOrder = []string{
	"default-src",
	"script-src", "script-src-elem", "script-src-attr",
	"style-src", "style-src-elem", "style-src-attr",
	"img-src", "font-src", "connect-src", "media-src",
	"object-src", "frame-src", "child-src", "worker-src", "manifest-src",
	"base-uri", "frame-ancestors", "form-action",
	"sandbox", "upgrade-insecure-requests",
}

// scriptDirectives are the directives in which 'unsafe-inline' would let an
// injected inline script run. New drops it from them: next to a nonce,
// browsers ignore it anyway, and without one it undoes the point of a CSP.
var scriptDirectives = []string{"script-src", "script-src-elem", "script-src-attr"}

// compiledCSP is a policy rendered once: parts[0] nonce parts[1] nonce ... .
type compiledCSP struct {
	parts []string
	size  int // total length with the nonces in
}

// compile renders csp with the nonce placeholders in nonceDirs and the
// reporting directives for reportURI. It refuses a policy that cannot be
// written as a header (see New).
func compile(csp CSP, nonceDirs []string, reportURI string) (compiledCSP, error) {
	dirs := make(map[string][]string, len(csp)+len(nonceDirs)+1)
	for name, sources := range csp {
		lname := strings.ToLower(name)
		if !validDirectiveName(lname) {
			return compiledCSP{}, errors.New("headers: invalid CSP directive name " + quoteShort(name))
		}
		if _, dup := dirs[lname]; dup {
			return compiledCSP{}, errors.New("headers: CSP directive given twice: " + lname)
		}
		for _, s := range sources {
			if !validSource(s) || hasPrefixFold(s, "'nonce-") {
				return compiledCSP{}, errors.New("headers: invalid source in CSP directive " + lname + ": " + quoteShort(s))
			}
		}
		dirs[lname] = slices.Clone(sources)
	}
	if reportURI != "" {
		if !validSource(reportURI) || strings.ContainsAny(reportURI, `"\`) {
			return compiledCSP{}, errors.New("headers: invalid ReportURI " + quoteShort(reportURI))
		}
		delete(dirs, "report-uri")
		delete(dirs, "report-to")
	}

	// A script directive missing from the map falls back to default-src in
	// the browser. Where we must change it (to add the nonce or to drop
	// 'unsafe-inline' from the fallback) we write it out with default-src's
	// sources so that its meaning for everything else stays the same.
	nonced := make(map[string]bool, len(nonceDirs))
	for _, name := range nonceDirs {
		lname := strings.ToLower(name)
		if !validDirectiveName(lname) {
			return compiledCSP{}, errors.New("headers: invalid nonce directive name " + quoteShort(name))
		}
		nonced[lname] = true
		if _, ok := dirs[lname]; !ok {
			dirs[lname] = slices.Clone(dirs["default-src"])
		}
	}
	if _, ok := dirs["script-src"]; !ok && slices.ContainsFunc(dirs["default-src"], isUnsafeInline) {
		dirs["script-src"] = slices.Clone(dirs["default-src"])
	}
	for _, name := range scriptDirectives {
		if src, ok := dirs[name]; ok {
			dirs[name] = slices.DeleteFunc(src, isUnsafeInline)
		}
	}
	for name := range nonced {
		// 'none' next to another source is ignored by browsers, but says
		// the opposite of what the directive now means; drop it.
		dirs[name] = slices.DeleteFunc(dirs[name], func(s string) bool {
			return strings.EqualFold(s, "'none'")
		})
	}

	var names []string
	for _, name := range directiveOrder {
		if _, ok := dirs[name]; ok {
			names = append(names, name)
		}
	}
	var rest []string
	for name := range dirs {
		if !slices.Contains(directiveOrder, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	names = append(names, rest...)

	var c compiledCSP
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(name)
		for _, s := range dirs[name] {
			b.WriteByte(' ')
			b.WriteString(s)
		}
		if nonced[name] {
			b.WriteString(" 'nonce-")
			c.parts = append(c.parts, b.String())
			b.Reset()
			b.WriteByte('\'')
		}
	}
	if reportURI != "" {
		if len(names) > 0 {
			b.WriteString("; ")
		}
		b.WriteString("report-uri " + reportURI + "; report-to " + reportingEndpoint)
	}
	c.parts = append(c.parts, b.String())
	for _, p := range c.parts {
		c.size += len(p)
	}
	c.size += (len(c.parts) - 1) * nonceLen
	return c, nil
}

// render returns the policy with nonce spliced in, and the nonce as a
// string. The nonce shares the policy's memory when the policy holds it,
// so a request costs one allocation here.
func (c *compiledCSP) render(nonce []byte) (policy, nonceStr string) {
	if len(c.parts) == 1 {
		return c.parts[0], string(nonce)
	}
	var b strings.Builder
	b.Grow(c.size)
	b.WriteString(c.parts[0])
	for _, p := range c.parts[1:] {
		b.Write(nonce)
		b.WriteString(p)
	}
	policy = b.String()
	start := len(c.parts[0])
	return policy, policy[start : start+len(nonce)]
}

func isUnsafeInline(s string) bool { return strings.EqualFold(s, "'unsafe-inline'") }

// validDirectiveName reports whether name is a CSP directive name:
// ASCII letters, digits and '-', already lower-cased.
func validDirectiveName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validSource reports whether s can stand as one source in a directive:
// visible ASCII without the ';' and ',' that separate directives and
// policies.
func validSource(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ';' || c == ',' {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// quoteShort shortens and quotes s for an error message.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8("\""+s+"\"", "?")
}
