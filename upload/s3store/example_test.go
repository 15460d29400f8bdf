package s3store_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/bulwarkhq/bulwark/upload/s3store"
)

// UPLOAD_STORAGE names the bucket and the server; the keys come apart.
func ExampleParseURL() {
	o, err := s3store.ParseURL("s3://files/uploads/?endpoint=https://s3.example.com&region=eu-west-3")
	if err != nil {
		log.Fatal(err)
	}
	o.AccessKeyID, o.SecretAccessKey = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	fmt.Println(o.Bucket, o.Prefix, o.Endpoint, o.Region)
	fmt.Println(o) // the secret is redacted
	// Output:
	// files uploads/ https://s3.example.com eu-west-3
	// s3store.Options{Endpoint:"https://s3.example.com" Region:"eu-west-3" Bucket:"files" AccessKeyID:"AKIDEXAMPLE" SecretAccessKey:"[REDACTED]" Secure:false Prefix:"uploads/"}
}

// New needs a server, so this example only compiles.
func ExampleNew() {
	ctx := context.Background()
	o, err := s3store.ParseURL(os.Getenv("UPLOAD_STORAGE")) // s3://files?endpoint=…&region=…
	if err != nil {
		log.Fatal(err)
	}
	o.AccessKeyID, o.SecretAccessKey = os.Getenv("S3_ACCESS_KEY_ID"), os.Getenv("S3_SECRET_ACCESS_KEY")
	store, err := s3store.New(ctx, o) // checks that the bucket exists
	if err != nil {
		log.Fatal(err)
	}
	// store is an upload.Storage: Write a pending object, Commit it under a
	// UUID once it is recorded, Open it to serve it.
	_ = store
}
