package input

import (
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/go-playground/validator/v10"
)

// defaultMaxBytes is the body cap when Options.MaxBytes is 0: generous for
// a JSON document, small enough that a flood of them cannot fill memory.
const defaultMaxBytes = 1 << 20

// FieldError is one field the client got wrong: its name as the client wrote
// it and a phrase saying what is wrong, which reads after the name.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Error is a refused request body. Status is 400, 413 or 415; Detail is a
// sentence for the client; Fields lists the fields at fault, if any; Err is
// the underlying cause, for the log only (it may quote the body).
type Error struct {
	Status int
	Detail string
	Fields []FieldError
	Err    error
}

// Error returns the detail and the fields, prefixed with the package name.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("input: ")
	b.WriteString(e.Detail)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Detail)
	}
	if e.Err != nil {
		b.WriteString(" (" + e.Err.Error() + ")")
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Options configure a Decoder.
type Options struct {
	// MaxBytes caps a JSON body; 0 means 1 MiB. A larger body is refused
	// with 413 before it is parsed.
	MaxBytes int64
}

// Decoder decodes JSON request bodies and validates structs. It is safe for
// concurrent use; build one and share it, so the validator's cache of struct
// types is built once.
type Decoder struct {
	max      int64
	opts     json.Options // made once: an Options value is an interface
	validate *validator.Validate
}

// New returns a Decoder with its own validator.
func New(o Options) (*Decoder, error) {
	if o.MaxBytes < 0 {
		return nil, errors.New("input: MaxBytes must not be negative")
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = defaultMaxBytes
	}
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(fieldName)
	return &Decoder{max: o.MaxBytes, opts: json.RejectUnknownMembers(true), validate: v}, nil
}

// DecodeJSON reads r's body into dst, a pointer to a struct, and validates
// it. A body the client got wrong gives an *Error (400, 413 or 415); a dst
// that is not a pointer to a struct gives a plain error, as it is a mistake
// in the program, not in the request.
func (d *Decoder) DecodeJSON(r *http.Request, dst any) error {
	if err := checkTarget(dst); err != nil {
		return err
	}
	if !isJSON(r.Header.Values("Content-Type")) {
		return &Error{Status: http.StatusUnsupportedMediaType,
			Detail: "The request body must be JSON, sent with Content-Type: application/json."}
	}
	body, err := d.read(r)
	if err != nil {
		return err
	}
	if err := d.decode(body, dst); err != nil {
		return err
	}
	return d.Validate(dst)
}

func checkTarget(dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("input: the destination must be a non-nil pointer to a struct, not %T", dst)
	}
	return nil
}

// isJSON accepts exactly one Content-Type, application/json, whose only
// parameter may be charset=utf-8: RFC 8259 makes UTF-8 the only encoding of
// JSON between systems, so any other charset is a client mistake.
func isJSON(values []string) bool {
	if len(values) != 1 {
		return false
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// read returns the whole body, refusing it once it is known to be longer
// than the cap: from Content-Length before reading, or after reading one
// byte more than the cap. A body cap further out (http.MaxBytesReader) is
// reported as the 413 it is.
func (d *Decoder) read(r *http.Request) ([]byte, error) {
	if r.ContentLength > d.max {
		return nil, tooLarge(d.max, nil)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	// Size the buffer from Content-Length, so a small body is one
	// allocation, but never by more than 32 KiB on the client's word alone:
	// a client could announce 16 MiB and send nothing.
	size := 512
	if cl := r.ContentLength; cl >= 0 && cl < 32<<10 {
		size = int(cl) + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, size)
	limit := d.max
	if limit < math.MaxInt64 {
		limit++
	}
	body := io.LimitReader(r.Body, limit)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(mbe.Limit, err)
		}
		if err != nil {
			return nil, &Error{Status: http.StatusBadRequest, Detail: "The request body could not be read.", Err: err}
		}
	}
	if int64(len(buf)) > d.max {
		return nil, tooLarge(d.max, nil)
	}
	return buf, nil
}

func tooLarge(max int64, err error) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge,
		Detail: fmt.Sprintf("The request body is larger than %d bytes.", max), Err: err}
}

// decode unmarshals exactly one JSON object from b into dst.
func (d *Decoder) decode(b []byte, dst any) error {
	// Refusing anything but an object first gives a clear message for the
	// common mistakes (an empty body, an array), and keeps out JSON null,
	// which v2 would read as an empty struct.
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	if i == len(b) {
		return badRequest("The request body is empty; send a JSON object.", nil)
	}
	if b[i] != '{' {
		return badRequest("The request body must be a JSON object.", nil)
	}
	err := json.Unmarshal(b, dst, d.opts)
	if err == nil {
		return nil
	}
	// json.Unmarshal refuses data after the value as a syntax error at its
	// first byte; when everything before that byte is one valid value, that
	// is what happened.
	if se, ok := errors.AsType[*jsontext.SyntacticError](err); ok && se.JSONPointer == "" &&
		se.ByteOffset > 0 && se.ByteOffset < int64(len(b)) && jsontext.Value(b[:se.ByteOffset]).IsValid() {
		return badRequest("The request body must hold exactly one JSON object; remove what follows it.", err)
	}
	return decodeError(reflect.TypeOf(dst).Elem(), err)
}

// maxEcho bounds what of the client's text an error repeats: a member name
// can be as long as the body, and it goes back to the client and into logs.
const maxEcho = 128

// clip shortens s to at most maxEcho bytes, on a UTF-8 boundary.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}

// clipped is a decoder error whose message quotes at most a few hundred
// bytes of the body (JSON pointers in it hold member names).
type clipped struct{ err error }

func (c clipped) Error() string { return clip(c.err.Error(), 4*maxEcho) }
func (c clipped) Unwrap() error { return c.err }

func badRequest(detail string, err error) *Error {
	return &Error{Status: http.StatusBadRequest, Detail: detail, Err: err}
}

// decodeError turns an error of the JSON decoder into an *Error that names
// the member at fault where there is one.
func decodeError(t reflect.Type, err error) *Error {
	err = clipped{err}
	if se, ok := errors.AsType[*jsontext.SyntacticError](err); ok {
		if se.Err == jsontext.ErrDuplicateName {
			return fieldsError("The request body gives a field more than once.", err,
				FieldError{pathOf(t, se.JSONPointer), "is given more than once"})
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return badRequest("The request body is not valid JSON: it ends too early.", err)
		}
		return badRequest(fmt.Sprintf("The request body is not valid JSON (at byte %d).", se.ByteOffset), err)
	}
	se, ok := errors.AsType[*json.SemanticError](err)
	if !ok || se.JSONPointer == "" {
		return badRequest("The request body could not be decoded.", err)
	}
	field := pathOf(t, se.JSONPointer)
	if se.Err == json.ErrUnknownName {
		return fieldsError("The request body has a field that is not accepted.", err,
			FieldError{field, "is not a known field"})
	}
	return fieldsError("A field has a value of the wrong type.", err,
		FieldError{field, typeDetail(se.GoType)})
}

func fieldsError(detail string, err error, fields ...FieldError) *Error {
	return &Error{Status: http.StatusBadRequest, Detail: detail, Fields: fields, Err: err}
}

// typeDetail says what JSON a Go type wants.
func typeDetail(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "has the wrong type"
	}
	if t.PkgPath() == "time" && t.Name() == "Time" {
		return "must be a date and time like 2006-01-02T15:04:05Z"
	}
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.Slice, reflect.Array:
		return "must be an array"
	case reflect.Struct, reflect.Map:
		return "must be an object"
	}
	return "has the wrong type"
}

// pathOf writes a JSON Pointer the way fields are named in errors, walking
// t alongside so that array indexes and map keys get brackets and struct
// members dots, as in the validator's names.
func pathOf(t reflect.Type, p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if tok == "" {
			tok = `""` // a member with an empty name still needs a visible one
		}
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		var k reflect.Kind
		if t != nil {
			k = t.Kind()
		}
		switch k {
		case reflect.Slice, reflect.Array, reflect.Map:
			b.WriteString("[" + tok + "]")
			t = t.Elem()
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
			t = memberType(t, tok)
		}
	}
	return clip(b.String(), maxEcho)
}

// memberType returns the type of the field of struct t that JSON member
// name decodes into, or nil.
func memberType(t reflect.Type, name string) reflect.Type {
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Tag.Get("json") == "" || f.Tag.Get("json") == "-" {
			continue
		}
		if jsonName(f) == name {
			return f.Type
		}
	}
	return nil
}

// jsonName is the member name encoding/json v2 gives a field.
func jsonName(f reflect.StructField) string {
	if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" {
		return name
	}
	return f.Name
}

// fieldName names a field in errors: its json tag, else its form tag, else
// its Go name.
func fieldName(f reflect.StructField) string {
	for _, key := range []string{"json", "form"} {
		if name, _, _ := strings.Cut(f.Tag.Get(key), ","); name != "" && name != "-" {
			return name
		}
	}
	return f.Name
}
