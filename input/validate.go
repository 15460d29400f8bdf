package input

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
)

// Validate checks v, a struct or a pointer to one, against its `validate`
// tags. Failed rules give an *Error with Status 400 and one FieldError per
// failure, in the order of the struct's fields, with the same messages
// DecodeJSON gives; use it for HTML forms after reading them into a struct.
// A v that is not a struct gives a plain error: a mistake in the program.
func (d *Decoder) Validate(v any) error {
	err := d.validate.Struct(v)
	if err == nil {
		return nil
	}
	failed, ok := errors.AsType[validator.ValidationErrors](err)
	if !ok {
		return fmt.Errorf("input: %w", err)
	}
	root := reflect.TypeOf(v)
	for root.Kind() == reflect.Pointer {
		root = root.Elem()
	}
	fields := make([]FieldError, 0, len(failed))
	for _, fe := range failed {
		fields = append(fields, FieldError{Field: clientName(root, fe.Namespace()), Detail: message(root, fe)})
	}
	return &Error{Status: http.StatusBadRequest, Detail: "Some fields are not valid.", Fields: fields, Err: err}
}

// clientName drops the struct's type name that the validator puts first
// ("User.email" → "email"); an unnamed struct type has none.
func clientName(root reflect.Type, ns string) string {
	if root.Name() != "" {
		ns = strings.TrimPrefix(ns, root.Name()+".")
	}
	return ns
}

// message says in a phrase what a failed rule wants. The phrase reads after
// the field's name.
func message(root reflect.Type, fe validator.FieldError) string {
	p := fe.Param()
	unit := unitOf(fe.Type())
	switch fe.ActualTag() {
	case "required", "required_if", "required_unless":
		return "is required"
	case "required_with":
		return "is required when " + others(root, fe, " or ") + " is given"
	case "required_with_all":
		return "is required when " + others(root, fe, " and ") + givenAll(p)
	case "required_without":
		return "is required unless " + others(root, fe, " and ") + givenAll(p)
	case "required_without_all":
		return "is required unless " + others(root, fe, " or ") + " is given"
	case "excluded_if", "excluded_unless":
		return "must be left out"
	case "excluded_with":
		return "must be left out when " + others(root, fe, " or ") + " is given"
	case "excluded_with_all":
		return "must be left out when " + others(root, fe, " and ") + givenAll(p)
	case "excluded_without":
		return "must be left out unless " + others(root, fe, " and ") + givenAll(p)
	case "excluded_without_all":
		return "must be left out unless " + others(root, fe, " or ") + " is given"
	case "eqfield":
		return "must match " + others(root, fe, "")
	case "nefield":
		return "must differ from " + others(root, fe, "")
	case "min", "gte":
		return sized("must be at least", "must have at least", p, unit)
	case "max", "lte":
		return sized("must be at most", "must have at most", p, unit)
	case "len":
		return sized("must be exactly", "must have exactly", p, unit)
	case "gt":
		if unit == "time" && p == "" {
			return "must be in the future"
		}
		return sized("must be more than", "must have more than", p, unit)
	case "lt":
		if unit == "time" && p == "" {
			return "must be in the past"
		}
		return sized("must be fewer than", "must have fewer than", p, unit)
	case "eq", "eq_ignore_case":
		if unit == "item" {
			return sized("", "must have exactly", p, unit)
		}
		return "must be " + quoteIfText(p, unit)
	case "ne", "ne_ignore_case":
		if unit == "item" {
			return "must not have " + count(p, unit)
		}
		return "must not be " + quoteIfText(p, unit)
	case "oneof", "oneofci":
		return "must be one of: " + strings.Join(oneofValues(p), ", ")
	case "email":
		return "must be an email address"
	case "url", "http_url", "uri":
		return "must be a URL"
	case "https_url":
		return "must be an https URL"
	case "uuid", "uuid3", "uuid4", "uuid5", "uuid_rfc4122", "uuid3_rfc4122", "uuid4_rfc4122", "uuid5_rfc4122":
		return "must be a UUID"
	case "alpha", "alphaunicode":
		return "must contain only letters"
	case "alphanum", "alphanumunicode":
		return "must contain only letters and digits"
	case "numeric":
		return "must be a number"
	case "number":
		return "must contain only digits"
	case "boolean":
		return "must be true or false"
	case "hexadecimal":
		return "must be hexadecimal"
	case "lowercase":
		return "must be in lower case"
	case "uppercase":
		return "must be in upper case"
	case "ascii":
		return "must contain only ASCII characters"
	case "printascii":
		return "must contain only printable ASCII characters"
	case "contains":
		return "must contain " + strconv.Quote(p)
	case "containsany":
		return "must contain one of the characters " + strconv.Quote(p)
	case "excludes":
		return "must not contain " + strconv.Quote(p)
	case "excludesall":
		return "must not contain any of the characters " + strconv.Quote(p)
	case "startswith":
		return "must start with " + strconv.Quote(p)
	case "endswith":
		return "must end with " + strconv.Quote(p)
	case "ip":
		return "must be an IP address"
	case "ipv4":
		return "must be an IPv4 address"
	case "ipv6":
		return "must be an IPv6 address"
	case "cidr":
		return "must be a network like 192.0.2.0/24"
	case "hostname", "hostname_rfc1123", "fqdn":
		return "must be a host name"
	case "e164":
		return "must be a phone number in international form, like +14155552671"
	case "datetime":
		return "must be a date and time in the form " + p
	case "timezone":
		return "must be a time zone like Europe/Paris"
	case "iso3166_1_alpha2":
		return "must be a two-letter country code"
	case "json":
		return "must be valid JSON"
	case "base64", "base64url", "base64rawurl":
		return "must be base64"
	case "unique":
		return "must not repeat a value"
	}
	return "is not valid"
}

// unitOf tells how the rules measure a value of type t: strings by their
// characters, lists by their items, times as times, numbers by value ("").
func unitOf(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return ""
	}
	if t.PkgPath() == "time" && t.Name() == "Time" {
		return "time"
	}
	switch t.Kind() {
	case reflect.String:
		return "character"
	case reflect.Slice, reflect.Array, reflect.Map:
		return "item"
	}
	return ""
}

// sized words a bound: "must be at least 8 characters", "must have at most
// 3 items", "must be at least 18".
func sized(be, have, p, unit string) string {
	switch unit {
	case "character":
		return be + " " + count(p, unit)
	case "item":
		return have + " " + count(p, unit)
	}
	return be + " " + p
}

func count(p, unit string) string {
	if p == "1" {
		return p + " " + unit
	}
	return p + " " + unit + "s"
}

func quoteIfText(p, unit string) string {
	if unit == "character" {
		return strconv.Quote(p)
	}
	return p
}

func givenAll(p string) string {
	if strings.Contains(p, " ") {
		return " are given"
	}
	return " is given"
}

// oneofValues splits a oneof parameter as the validator does: by spaces,
// with 'single quotes' around a value that holds spaces.
func oneofValues(p string) []string {
	var vals []string
	for p = strings.TrimLeft(p, " "); p != ""; p = strings.TrimLeft(p, " ") {
		if p[0] == '\'' {
			if end := strings.IndexByte(p[1:], '\''); end >= 0 {
				vals = append(vals, p[1:1+end])
				p = p[2+end:]
				continue
			}
		}
		v, rest, _ := strings.Cut(p, " ")
		vals = append(vals, strings.ReplaceAll(v, "'", ""))
		p = rest
	}
	return vals
}

// others names the fields a cross-field rule refers to, by the names the
// client uses. The rule's parameter holds Go field names of the failing
// field's struct; that struct is found by walking the failing field's Go
// path from root. A name that cannot be resolved is shown as written.
func others(root reflect.Type, fe validator.FieldError, sep string) string {
	parent := root
	segs := splitPath(fe.StructNamespace())
	if root.Name() != "" && len(segs) > 0 {
		segs = segs[1:] // the type name
	}
	for _, s := range segs[:max(len(segs)-1, 0)] {
		parent = goField(parent, s)
	}
	var names []string
	for goName := range strings.FieldsSeq(fe.Param()) {
		names = append(names, clientPath(parent, goName))
	}
	if sep == "" {
		return strings.Join(names, " ")
	}
	return strings.Join(names, sep)
}

// splitPath splits a validator namespace at dots outside brackets, since a
// map key in brackets may hold dots: "M[a.b].Zip" → "M[a.b]", "Zip".
func splitPath(ns string) []string {
	var segs []string
	depth, start := 0, 0
	for i := 0; i < len(ns); i++ {
		switch ns[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				segs = append(segs, ns[start:i])
				start = i + 1
			}
		}
	}
	return append(segs, ns[start:])
}

// goField returns the type reached from struct t by one path segment: a Go
// field name with any number of [index] suffixes. Nil when it cannot.
func goField(t reflect.Type, seg string) reflect.Type {
	name, _, _ := strings.Cut(seg, "[")
	t = structOf(t)
	if t == nil {
		return nil
	}
	f, ok := t.FieldByName(name)
	if !ok {
		return nil
	}
	t = f.Type
	for range strings.Count(seg, "[") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	return t
}

// clientPath turns a Go field path relative to struct t ("Phone",
// "Contact.Phone") into the client's names ("phone", "contact.phone").
func clientPath(t reflect.Type, goPath string) string {
	var names []string
	for part := range strings.SplitSeq(goPath, ".") {
		st := structOf(t)
		if st == nil {
			return goPath
		}
		f, ok := st.FieldByName(part)
		if !ok {
			return goPath
		}
		names = append(names, fieldName(f))
		t = f.Type
	}
	return strings.Join(names, ".")
}

func structOf(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	return t
}
