package web

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzFormFields sends any urlencoded body through ParseForm and the field
// checks the pages apply to it (name, bio, q, email), as a form post
// reaches them. A field is either refused with a *FieldError naming it, or
// accepted trimmed, valid UTF-8, within its length and free of the control
// characters that could reach SQL, HTML or a log line unnoticed.
func FuzzFormFields(f *testing.F) {
	for _, body := range []string{
		"name=Ada+Lovelace&bio=Analyst%0Aengine&q=ada&email=ada%40example.com",
		"name=%27%3B+DROP+TABLE+users%3B--&bio=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
		"name=%00&bio=%1B%5B31m&q=%E2%80%AE&email=a%40b",
		"name=%FF%FE&bio=" + strings.Repeat("x", 501) + "&q=" + strings.Repeat("%C3%A9", 101),
		"name=a&name=b&q=%25_%5C", "%zz=1&name", ";name=x", "",
	} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/account", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := r.ParseForm(); err != nil {
			return // net/http answers 400 through the pages' error path
		}
		checks := []struct {
			field   string
			check   func(string) (string, error)
			max     int
			allowed func(rune) bool
		}{
			{"name", func(s string) (string, error) { return Name("name", s) }, 100, nil},
			{"bio", func(s string) (string, error) { return Bio("bio", s) }, 500,
				func(c rune) bool { return c == '\n' || c == '\r' || c == '\t' }},
			{"q", func(s string) (string, error) { return SearchText("q", s, 100) }, 100, nil},
			{"email", func(s string) (string, error) { return Email("email", s) }, 254, nil},
		}
		for _, c := range checks {
			in := r.PostForm.Get(c.field)
			got, err := c.check(in)
			if err != nil {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != c.field || fe.Detail == "" {
					t.Fatalf("%s=%q: error %v, want a *FieldError for %s", c.field, in, err, c.field)
				}
				continue
			}
			if !utf8.ValidString(got) || got != strings.TrimSpace(got) || utf8.RuneCountInString(got) > c.max {
				t.Fatalf("%s=%q accepted as %q", c.field, in, got)
			}
			for _, ch := range got {
				if unicode.IsControl(ch) && (c.allowed == nil || !c.allowed(ch)) {
					t.Fatalf("%s=%q accepted with control character %U", c.field, in, ch)
				}
			}
		}
	})
}
