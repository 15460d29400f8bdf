package input

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeJSON checks that no body or Content-Type makes DecodeJSON panic,
// and that every answer is either a value that passes validation or an
// *Error with a client status; field errors always name a field.
func FuzzDecodeJSON(f *testing.F) {
	for _, body := range []string{
		`{"name":"Ada","email":"ada@example.com"}`,
		`{"name":"Ada","email":"ada@example.com","password":"correct horse battery"}`,
		`{"name":"Ada","email":"ada@example.com"}{"name":"Eve"}`,
		`{"name":"Ada","name":"Eve"}`,
		`{"Name":"Ada"}`,
		`{"items":[{"sku":"ABC123","qty":1}],"address":{"zip":"1","country":"FR"},"notes":{"a.b":"c"}}`,
		`{"items":[{"sku":1}],"address":null}`,
		`[]`, `null`, ``, `{`, "{\"name\":\"\xff\"}", `{"bio":"` + strings.Repeat("x", 600) + `"}`,
	} {
		f.Add(body, "application/json")
	}
	f.Add(`{}`, "text/plain")
	f.Add(`{}`, "application/json; charset=utf-16")

	d, err := New(Options{MaxBytes: 512})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, contentType string) {
		for _, dst := range []any{new(user), new(order)} {
			r := httptest.NewRequest("POST", "/", strings.NewReader(body))
			r.Header.Set("Content-Type", contentType)
			err := d.DecodeJSON(r, dst)
			if err == nil {
				if verr := d.Validate(dst); verr != nil {
					t.Fatalf("decoded %q without error, but it does not validate: %v", body, verr)
				}
				continue
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("body %q: %v (%T), want *Error", body, err, err)
			}
			switch e.Status {
			case 400, 413, 415:
			default:
				t.Fatalf("body %q: status %d", body, e.Status)
			}
			if e.Detail == "" {
				t.Fatalf("body %q: no detail", body)
			}
			for _, fe := range e.Fields {
				if fe.Field == "" || fe.Detail == "" {
					t.Fatalf("body %q: field error %+v", body, fe)
				}
			}
		}
	})
}
