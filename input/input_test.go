package input

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

type user struct {
	Name     string  `json:"name" validate:"required,max=100"`
	Email    string  `json:"email" validate:"required,email"`
	Bio      string  `json:"bio" validate:"max=500"`
	Password *string `json:"password,omitempty" validate:"omitempty,min=8"`
}

type order struct {
	Items   []item            `json:"items" validate:"required,min=1,dive"`
	Address *address          `json:"address" validate:"required"`
	Tags    []string          `json:"tags" validate:"max=3"`
	Notes   map[string]string `json:"notes"`
}

type item struct {
	SKU string `json:"sku" validate:"required,len=6"`
	Qty int    `json:"qty" validate:"gte=1,lte=10"`
}

type address struct {
	Zip     string `json:"zip" validate:"required"`
	Country string `json:"country" validate:"oneof=FR DE 'United Kingdom'"`
}

func newDecoder(t testing.TB, max int64) *Decoder {
	t.Helper()
	d, err := New(Options{MaxBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func jsonRequest(body string) *http.Request {
	r := httptest.NewRequest("POST", "/api/users", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// asError fails the test unless err is an *Error with the status.
func asError(t *testing.T, err error, status int) *Error {
	t.Helper()
	e, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("err = %v (%T), want *Error %d", err, err, status)
	}
	if e.Status != status {
		t.Fatalf("status = %d, want %d (%v)", e.Status, status, e)
	}
	return e
}

func TestDecodeJSONValid(t *testing.T) {
	d := newDecoder(t, 0)
	var u user
	err := d.DecodeJSON(jsonRequest(`{"name":"Ada","email":"ada@example.com","bio":"","password":"correct horse"}`), &u)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Ada" || u.Email != "ada@example.com" || u.Password == nil || *u.Password != "correct horse" {
		t.Fatalf("decoded %+v", u)
	}
}

func TestContentType(t *testing.T) {
	d := newDecoder(t, 0)
	for _, tc := range []struct {
		ct []string
		ok bool
	}{
		{[]string{"application/json"}, true},
		{[]string{"application/json; charset=utf-8"}, true},
		{[]string{"Application/JSON; Charset=\"UTF-8\""}, true},
		{nil, false},
		{[]string{""}, false},
		{[]string{"text/plain"}, false},
		{[]string{"text/plain; charset=utf-8"}, false},
		{[]string{"application/x-www-form-urlencoded"}, false},
		{[]string{"multipart/form-data; boundary=x"}, false},
		{[]string{"application/json; charset=latin1"}, false},
		{[]string{"application/json; foo=bar"}, false},
		{[]string{"application/jsonx"}, false},
		{[]string{"application/problem+json"}, false},
		{[]string{"application/json", "application/json"}, false},
		{[]string{"application/json;"}, true},
		{[]string{"application/json; charset=utf-8; charset=latin1"}, false},
	} {
		r := jsonRequest(`{"name":"Ada","email":"ada@example.com"}`)
		r.Header["Content-Type"] = tc.ct
		var u user
		err := d.DecodeJSON(r, &u)
		if tc.ok && err != nil {
			t.Errorf("Content-Type %q: %v", tc.ct, err)
		}
		if !tc.ok {
			asError(t, err, 415)
		}
	}
}

func TestTooLarge(t *testing.T) {
	d := newDecoder(t, 64)
	body := `{"name":"Ada","email":"ada@example.com","bio":"` // 47 bytes
	fits := body + strings.Repeat("x", 64-len(body)-2) + `"}`
	var u user
	if err := d.DecodeJSON(jsonRequest(fits), &u); err != nil {
		t.Fatalf("a body of exactly MaxBytes: %v", err)
	}

	over := body + strings.Repeat("x", 64-len(body)-1) + `"}`
	e := asError(t, d.DecodeJSON(jsonRequest(over), &u), 413)
	if !strings.Contains(e.Detail, "64 bytes") {
		t.Errorf("detail %q does not name the cap", e.Detail)
	}

	// Without a Content-Length (chunked): the cap holds while reading.
	r := jsonRequest(over)
	r.ContentLength = -1
	asError(t, d.DecodeJSON(r, &u), 413)

	// A Content-Length over the cap is refused before reading.
	r = jsonRequest(`{}`)
	r.ContentLength = 1 << 30
	asError(t, d.DecodeJSON(r, &u), 413)

	// A cap further out (the app's MAX_CONTENT_LENGTH) is a 413 too.
	r = jsonRequest(over)
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 10)
	r.ContentLength = -1
	e = asError(t, newDecoder(t, 0).DecodeJSON(r, &u), 413)
	if !strings.Contains(e.Detail, "10 bytes") {
		t.Errorf("detail %q does not name the outer cap", e.Detail)
	}
}

func TestBadBodies(t *testing.T) {
	d := newDecoder(t, 0)
	for _, tc := range []struct {
		name, body string
		detail     string // part of Detail
		fields     []FieldError
	}{
		{"empty", ``, "empty", nil},
		{"whitespace", " \n\t ", "empty", nil},
		{"array", `[{"name":"Ada"}]`, "must be a JSON object", nil},
		{"string", `"Ada"`, "must be a JSON object", nil},
		{"null", `null`, "must be a JSON object", nil},
		{"number", `1`, "must be a JSON object", nil},
		{"two objects", `{"name":"Ada","email":"ada@example.com"}{"name":"Eve"}`, "exactly one JSON object", nil},
		{"object then junk", `{"name":"Ada","email":"ada@example.com"} x`, "exactly one JSON object", nil},
		{"object then array", `{"name":"Ada","email":"ada@example.com"}[]`, "exactly one JSON object", nil},
		{"spaced objects", " \r\n{\"name\":\"Ada\",\"email\":\"ada@example.com\"}\n{}\n", "exactly one JSON object", nil},
		{"nested junk", `{"name":"Ada","email":"ada@example.com","bio":"x"}}`, "exactly one JSON object", nil},
		{"truncated", `{"name":"Ada","email":`, "ends too early", nil},
		{"syntax", `{"name":"Ada",}`, "not valid JSON", nil},
		{"single quotes", `{'name':'Ada'}`, "not valid JSON", nil},
		{"invalid UTF-8", "{\"name\":\"A\xffa\",\"email\":\"ada@example.com\"}", "not valid JSON", nil},
		{"BOM", "\ufeff{}", "must be a JSON object", nil},
		{"unknown field", `{"name":"Ada","email":"ada@example.com","admin":true}`, "not accepted",
			[]FieldError{{"admin", "is not a known field"}}},
		{"empty name", `{"":1}`, "not accepted", []FieldError{{`""`, "is not a known field"}}},
		{"wrong case", `{"Name":"Ada","email":"ada@example.com"}`, "not accepted",
			[]FieldError{{"Name", "is not a known field"}}},
		{"duplicate", `{"name":"Ada","email":"ada@example.com","name":"Eve"}`, "more than once",
			[]FieldError{{"name", "is given more than once"}}},
		{"duplicate, other case", `{"email":"ada@example.com","name":"Ada","NAME":"Eve"}`, "not accepted",
			[]FieldError{{"NAME", "is not a known field"}}},
		{"wrong type", `{"name":5,"email":"ada@example.com"}`, "wrong type",
			[]FieldError{{"name", "must be a string"}}},
		{"object for string", `{"name":{},"email":"ada@example.com"}`, "wrong type",
			[]FieldError{{"name", "must be a string"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var u user
			e := asError(t, d.DecodeJSON(jsonRequest(tc.body), &u), 400)
			if !strings.Contains(e.Detail, tc.detail) {
				t.Errorf("Detail = %q, want it to contain %q", e.Detail, tc.detail)
			}
			if !reflect.DeepEqual(e.Fields, tc.fields) {
				t.Errorf("Fields = %q, want %q", e.Fields, tc.fields)
			}
		})
	}
}

func TestNestedFieldNames(t *testing.T) {
	d := newDecoder(t, 0)
	ok := `"address":{"zip":"75001","country":"FR"}`
	for _, tc := range []struct{ body, field, detail string }{
		{`{"items":[{"sku":"ABC123","qty":"2"}],` + ok + `}`, "items[0].qty", "must be a whole number in range"},
		{`{"items":[{"sku":"ABC123","qty":1},{"sku":"ABC123","qty":1.5}],` + ok + `}`, "items[1].qty", "must be a whole number in range"},
		{`{"items":[{"sku":"ABC123","qty":99999999999999999999}],` + ok + `}`, "items[0].qty", "must be a whole number in range"},
		{`{"items":[{"sku":"ABC123","qty":1,"price":3}],` + ok + `}`, "items[0].price", "is not a known field"},
		{`{"items":[{"sku":"ABC123","qty":1}],"address":{"zip":1}}`, "address.zip", "must be a string"},
		{`{"items":[{"sku":"ABC123","qty":1}],"address":{"zip":"1","zip":"2"}}`, "address.zip", "is given more than once"},
		{`{"items":{},` + ok + `}`, "items", "must be an array"},
		{`{"items":[{"sku":"ABC123","qty":1}],"tags":[1],` + ok + `}`, "tags[0]", "must be a string"},
		{`{"items":[{"sku":"ABC123","qty":1}],"notes":{"a.b":1},` + ok + `}`, "notes[a.b]", "must be a string"},
		{`{"items":[{"sku":"ABC123","qty":1}],"address":[],` + `}`, "address", "must be an object"},
	} {
		var o order
		e := asError(t, d.DecodeJSON(jsonRequest(tc.body), &o), 400)
		want := []FieldError{{tc.field, tc.detail}}
		if !reflect.DeepEqual(e.Fields, want) {
			t.Errorf("%s: Fields = %q, want %q", tc.body, e.Fields, want)
		}
	}
}

func TestValidationMessages(t *testing.T) {
	d := newDecoder(t, 0)
	var u user
	e := asError(t, d.DecodeJSON(jsonRequest(`{"email":"not an email","password":"short"}`), &u), 400)
	want := []FieldError{
		{"name", "is required"},
		{"email", "must be an email address"},
		{"password", "must be at least 8 characters"},
	}
	if !reflect.DeepEqual(e.Fields, want) {
		t.Errorf("Fields = %q, want %q", e.Fields, want)
	}
	if e.Detail != "Some fields are not valid." {
		t.Errorf("Detail = %q", e.Detail)
	}

	var o order
	e = asError(t, d.DecodeJSON(jsonRequest(`{"items":[{"sku":"AB","qty":0},{"sku":"ABCDEF","qty":11}],
		"address":{"zip":"","country":"Narnia"},"tags":["a","b","c","d"]}`), &o), 400)
	want = []FieldError{
		{"items[0].sku", "must be exactly 6 characters"},
		{"items[0].qty", "must be at least 1"},
		{"items[1].qty", "must be at most 10"},
		{"address.zip", "is required"},
		{"address.country", "must be one of: FR, DE, United Kingdom"},
		{"tags", "must have at most 3 items"},
	}
	if !reflect.DeepEqual(e.Fields, want) {
		t.Errorf("Fields = %q,\nwant %q", e.Fields, want)
	}
}

// Lengths are characters, as people count them, not bytes.
func TestLengthInCharacters(t *testing.T) {
	d := newDecoder(t, 0)
	var v struct {
		Name string `json:"name" validate:"min=5,max=5"`
	}
	if err := d.DecodeJSON(jsonRequest(`{"name":"héllo"}`), &v); err != nil {
		t.Fatalf("5 characters in 6 bytes: %v", err)
	}
	e := asError(t, d.DecodeJSON(jsonRequest(`{"name":"日本語"}`), &v), 400)
	if want := (FieldError{"name", "must be at least 5 characters"}); e.Fields[0] != want {
		t.Errorf("got %q, want %q", e.Fields[0], want)
	}
}

type contact struct {
	Email    string `form:"email" validate:"required_without=Phone,excluded_with=Fax"`
	Phone    string `form:"phone_number" validate:"omitempty,e164"`
	Fax      string `form:"fax"`
	Password string `form:"password" validate:"required"`
	Confirm  string `form:"confirm" validate:"eqfield=Password"`
	Role     string `form:"role" validate:"required,oneof=user admin"`
	Age      *int   `form:"age" validate:"omitnil,gte=18"`
	Code     string // no tag: the Go name
	Nick     string `form:"nick" validate:"required_with=Phone Fax"`
	Secret   string `form:"-" validate:"max=1"`
}

// The form path: the application has read the form into a struct; Validate
// names fields by their form tags and gives the JSON messages.
func TestValidateForm(t *testing.T) {
	d := newDecoder(t, 0)
	age := 17
	err := d.Validate(&contact{Fax: "1", Email: "a@b.example", Phone: "0612", Password: "x", Confirm: "y", Role: "root", Age: &age, Secret: "ab"})
	e := asError(t, err, 400)
	want := []FieldError{
		{"email", "must be left out when fax is given"},
		{"phone_number", "must be a phone number in international form, like +14155552671"},
		{"confirm", "must match password"},
		{"role", "must be one of: user, admin"},
		{"age", "must be at least 18"},
		{"nick", "is required when phone_number or fax is given"},
		{"Secret", "must be at most 1 character"},
	}
	if !reflect.DeepEqual(e.Fields, want) {
		t.Errorf("Fields = %q,\nwant %q", e.Fields, want)
	}

	e = asError(t, d.Validate(contact{Password: "x", Confirm: "x", Role: "user"}), 400)
	want = []FieldError{{"email", "is required unless phone_number is given"}}
	if !reflect.DeepEqual(e.Fields, want) {
		t.Errorf("Fields = %q, want %q", e.Fields, want)
	}

	if err := d.Validate(&contact{Email: "a@b.example", Password: "x", Confirm: "x", Role: "user"}); err != nil {
		t.Errorf("valid form: %v", err)
	}
}

// A rule on a nested struct that names a sibling uses the sibling's name
// at that level.
func TestCrossFieldNested(t *testing.T) {
	type pair struct {
		A string `json:"first"`
		B string `json:"second" validate:"required_with=A"`
	}
	var v struct {
		Pairs []pair `json:"pairs" validate:"dive"`
	}
	d := newDecoder(t, 0)
	e := asError(t, d.DecodeJSON(jsonRequest(`{"pairs":[{"first":"x","second":"y"},{"first":"x"}]}`), &v), 400)
	want := []FieldError{{"pairs[1].second", "is required when first is given"}}
	if !reflect.DeepEqual(e.Fields, want) {
		t.Errorf("Fields = %q, want %q", e.Fields, want)
	}
}

func TestProgramMistakes(t *testing.T) {
	d := newDecoder(t, 0)
	var u user
	for _, dst := range []any{u, nil, (*user)(nil), new(int), new([]user)} {
		err := d.DecodeJSON(jsonRequest(`{}`), dst)
		if err == nil || !strings.HasPrefix(err.Error(), "input: ") {
			t.Errorf("DecodeJSON(%T) = %v, want a plain input: error", dst, err)
		}
		if _, ok := errors.AsType[*Error](err); ok {
			t.Errorf("DecodeJSON(%T) is a client error: %v", dst, err)
		}
	}
	for _, v := range []any{nil, 3, "x", new(int)} {
		err := d.Validate(v)
		if err == nil || !strings.HasPrefix(err.Error(), "input: ") {
			t.Errorf("Validate(%T) = %v, want a plain input: error", v, err)
		}
		if _, ok := errors.AsType[*Error](err); ok {
			t.Errorf("Validate(%T) is a client error: %v", v, err)
		}
	}
	if _, err := New(Options{MaxBytes: -1}); err == nil {
		t.Error("New accepted a negative MaxBytes")
	}
}

func TestErrorString(t *testing.T) {
	d := newDecoder(t, 0)
	var u user
	err := d.DecodeJSON(jsonRequest(`{"name":"Ada","email":"x"}`), &u)
	if got, want := err.Error(), "input: Some fields are not valid. email: must be an email address"; !strings.HasPrefix(got, want) {
		t.Errorf("Error() = %q, want prefix %q", got, want)
	}
	if errors.Unwrap(err) == nil {
		t.Error("no cause to log")
	}
}

// One Decoder serves every request at once.
func TestConcurrent(t *testing.T) {
	d := newDecoder(t, 0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				var u user
				body := `{"name":"Ada","email":"ada@example.com"}`
				if i%2 == 1 {
					body = `{"name":"","email":"x"}`
				}
				err := d.DecodeJSON(jsonRequest(body), &u)
				if (err == nil) != (i%2 == 0) {
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestOneofValues(t *testing.T) {
	for in, want := range map[string][]string{
		"a b  c":          {"a", "b", "c"},
		"'a b' c":         {"a b", "c"},
		"'unclosed x":     {"unclosed", "x"},
		"":                nil,
		"'' x":            {"", "x"},
		"it's fine 'x y'": {"its", "fine", "x y"},
	} {
		if got := oneofValues(in); !reflect.DeepEqual(got, want) {
			t.Errorf("oneofValues(%q) = %q, want %q", in, got, want)
		}
	}
}

// A client's member name goes back in the error and into logs: bounded.
func TestLongNamesClipped(t *testing.T) {
	d := newDecoder(t, 0)
	long := strings.Repeat("é", 10_000)
	for _, body := range []string{
		`{"` + long + `":1}`,
		`{"name":"Ada","email":"ada@example.com","` + long + `":1,"` + long + `":2}`,
	} {
		var u user
		e := asError(t, d.DecodeJSON(jsonRequest(body), &u), 400)
		if len(e.Fields) != 1 || len(e.Fields[0].Field) > maxEcho+len("…") || !strings.HasPrefix(e.Fields[0].Field, "éé") {
			t.Fatalf("Fields = %.200q", e.Fields)
		}
		if n := len(e.Error()); n > 1000 {
			t.Fatalf("Error() is %d bytes", n)
		}
	}
}
