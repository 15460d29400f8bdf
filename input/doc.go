// Package input decodes and validates what clients send: a JSON request
// body into a struct, strictly, then the struct's `validate` rules
// (github.com/go-playground/validator); or an HTML form the application has
// already read into a struct, with the same rules and the same messages.
//
//	dec, err := input.New(input.Options{MaxBytes: 16 << 20})
//	...
//	var u struct {
//		Name  string `json:"name" validate:"required,max=100"`
//		Email string `json:"email" validate:"required,email"`
//	}
//	if err := dec.DecodeJSON(r, &u); err != nil {
//		// *input.Error: Status 400, 413 or 415, Detail, Fields
//	}
//
// Every refusal is an [*Error] carrying what an RFC 9457 problem document
// needs: the status, a detail for the client, and for problems in fields a
// list of [FieldError] that name the field as the client wrote it ("email",
// "address.zip", "items[2].name"), never the Go name.
//
// # What DecodeJSON refuses
//
//   - a Content-Type other than application/json (optionally with
//     charset=utf-8): 415. A form post or a text/plain body, which browsers
//     send cross-origin without a preflight, never reaches the decoder;
//   - a body longer than MaxBytes, by its Content-Length or as it is read:
//     413;
//   - anything but exactly one JSON object: an empty body, an array, a bare
//     string, or an object followed by more data (`{"a":1}{"b":2}`): 400;
//   - invalid JSON, including invalid UTF-8: 400;
//   - a member the struct does not have, a member whose name differs only
//     in case ("Email" for "email"), a member given twice, a value of the
//     wrong type: 400 naming the field;
//   - then every failed validation rule: 400 listing each field.
//
// # Why encoding/json v2 semantics (github.com/go-json-experiment/json)
//
// encoding/json (v1) matches member names case-insensitively, keeps the last
// of two members with the same name, and accepts invalid UTF-8. The first two
// let a client smuggle a value past a proxy or a logger that reads the body
// differently ({"role":"user","ROLE":"admin"}). v1 cannot be told to stop:
// a strict v1 decoder needs a second pass over the tokens to find duplicates
// and case variants. The v2 semantics refuse all three by default and
// RejectUnknownMembers refuses unknown members, so one call does the whole
// check and each error carries a JSON Pointer to the member at fault. The
// module github.com/go-json-experiment/json is the same code as the standard
// library's encoding/json/v2, which Go 1.26 still keeps behind
// GOEXPERIMENT=jsonv2; moving to it will be an import path change.
//
// One consequence of v2: a struct field without a json tag matches only its
// exact Go name ("Email", not "email"). Tag every field.
//
// # Field names
//
// A field is named by its json tag, else its form tag, else its Go name; a
// struct read from both a form and a JSON body should give the two tags the
// same name. Nested fields are joined with dots and indexed with brackets.
//
// # Validation
//
// Each [Decoder] builds one validator.Validate in [New] (with
// WithRequiredStructEnabled) and reuses it: the validator caches what it
// learns about each struct type, and it is safe for concurrent use once
// built. It lives in the Decoder rather than in a package variable, so
// nothing here is global state; build one Decoder at start-up and share it.
//
// Remember validator's `required` means "not the zero value": 0, false and
// "" fail it. Use a pointer for a field where zero is a valid answer.
//
// Messages are short phrases that read after the field's name ("must be an
// email address", "must be at least 8 characters"); lengths of strings are
// counted in characters (runes), as the rules count them. Rules without a
// message of their own read "is not valid".
package input
