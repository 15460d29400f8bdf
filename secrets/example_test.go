package secrets_test

import (
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/bulwarkhq/bulwark/secrets"
)

func ExampleFromEnv() {
	env := map[string]string{"SECRET_KEY": "changeme"}
	getenv := func(k string) string { return env[k] } // os.Getenv in a real program

	key, ok, err := secrets.FromEnv(getenv, "SECRET_KEY")
	if err != nil {
		log.Fatal(err)
	}
	if !ok {
		log.Fatal("SECRET_KEY or SECRET_KEY_FILE is required")
	}
	if err := secrets.CheckStrength(key.Reveal()); err != nil {
		fmt.Println("log:", err)
		var weak *secrets.StrengthError
		if errors.As(err, &weak) {
			fmt.Println("SECRET_KEY " + weak.Reason + "; generate one with openssl rand -hex 32")
		}
	}
	fmt.Println("the key prints as", key)
	// Output:
	// log: secrets: key is a well-known example value
	// SECRET_KEY is a well-known example value; generate one with openssl rand -hex 32
	// the key prints as [redacted]
}

func ExampleDevKey() {
	dataDir, _ := os.MkdirTemp("", "bulwark-example")
	defer os.RemoveAll(dataDir)

	key, err := secrets.DevKey(dataDir) // creates dataDir/secret_key (0600) once
	if err != nil {
		log.Fatal(err)
	}
	again, _ := secrets.DevKey(dataDir) // a restart reads the same key
	fmt.Println(key.Len(), key.Equal(again))
	// Output: 64 true
}
