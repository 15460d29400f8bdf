package web

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bulwarkhq/bulwark/internal/store"
)

// Email checks an address's form and returns it as accounts are stored
// (store.NormalizeEmail). The error is a *FieldError for field.
func Email(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", &FieldError{field, "Enter your email address (at most 254 characters)."}
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		// net/mail takes C1 controls such as U+0085 as plain letters,
		// and no account should be named by one (FuzzEmail's seeds).
		return "", &FieldError{field, "Enter an email address like name@example.com."}
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", &FieldError{field, "Enter an email address like name@example.com."}
	}
	return store.NormalizeEmail(s), nil
}

// Name checks a display name: 1 to 100 characters, no control characters.
// It returns the name trimmed.
func Name(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > 100 {
		return "", &FieldError{field, "Enter a name of 1 to 100 characters."}
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", &FieldError{field, "The name contains characters that cannot be used."}
	}
	return s, nil
}

// Bio checks a profile text: at most 500 characters; line breaks and tabs
// are the only control characters allowed. It returns the bio trimmed.
func Bio(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 500 {
		return "", &FieldError{field, "Keep the bio to 500 characters."}
	}
	bad := func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }
	if !utf8.ValidString(s) || strings.IndexFunc(s, bad) >= 0 {
		return "", &FieldError{field, "The bio contains characters that cannot be used."}
	}
	return s, nil
}

// LocalPath returns next when it is a path on this site, else "". Anything
// a browser could read as another origin is refused: "//host", "/\host",
// schemes, and control characters (which browsers strip).
func LocalPath(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return ""
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

// SearchText checks a search query: at most max characters of valid UTF-8
// without control characters. It returns the query trimmed; "" is allowed
// (no search).
func SearchText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", &FieldError{field, "The search contains characters that cannot be used."}
	}
	if utf8.RuneCountInString(s) > max {
		return "", &FieldError{field, fmt.Sprintf("Search for at most %d characters.", max)}
	}
	return s, nil
}
