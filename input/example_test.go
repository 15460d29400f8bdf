package input_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/bulwarkhq/bulwark/input"
)

func Example() {
	dec, err := input.New(input.Options{MaxBytes: 1 << 20})
	if err != nil {
		panic(err)
	}
	type newUser struct {
		Name     string `json:"name" validate:"required,max=100"`
		Email    string `json:"email" validate:"required,email"`
		Password string `json:"password" validate:"required,min=15"`
	}

	for _, body := range []string{
		`{"name":"Ada","email":"ada@example.com","password":"correct horse battery"}`,
		`{"name":"Ada","email":"ada@example","password":"hunter2"}`,
		`{"name":"Ada","email":"ada@example.com","password":"correct horse battery","admin":true}`,
		`{"name":"Ada","NAME":"root"}`,
	} {
		r := httptest.NewRequest("POST", "/api/users", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var u newUser
		err := dec.DecodeJSON(r, &u)
		if e, ok := errors.AsType[*input.Error](err); ok {
			// What an RFC 9457 problem document needs.
			fields, _ := json.Marshal(e.Fields)
			fmt.Println(e.Status, e.Detail, string(fields))
			continue
		}
		fmt.Println("created", u.Name)
	}
	// Output:
	// created Ada
	// 400 Some fields are not valid. [{"field":"email","detail":"must be an email address"},{"field":"password","detail":"must be at least 15 characters"}]
	// 400 The request body has a field that is not accepted. [{"field":"admin","detail":"is not a known field"}]
	// 400 The request body has a field that is not accepted. [{"field":"NAME","detail":"is not a known field"}]
}

// An HTML form read into a struct gets the same rules and messages, named
// by the form tags.
func ExampleDecoder_Validate() {
	dec, err := input.New(input.Options{})
	if err != nil {
		panic(err)
	}
	type profile struct {
		Name string `form:"name" validate:"required,max=100"`
		Bio  string `form:"bio" validate:"max=10"`
	}
	err = dec.Validate(profile{Bio: "more than ten characters"})
	if e, ok := errors.AsType[*input.Error](err); ok {
		for _, f := range e.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Detail)
		}
	}
	// Output:
	// name: is required
	// bio: must be at most 10 characters
}
