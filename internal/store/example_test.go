package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bulwarkhq/bulwark/internal/store"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "bulwark-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// As DATABASE_URL's default, sqlite://DATA_DIR/bulwark.db, with an
	// absolute DATA_DIR.
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "data", "bulwark.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	u := &store.User{Email: " Ada@Example.com ", Name: "Ada Lovelace"}
	if err := db.CreateUser(ctx, u); err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.ID, u.Email)

	found, err := db.UserByEmail(ctx, "ADA@example.COM")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(found.Name)
	// Output:
	// 1 ada@example.com
	// Ada Lovelace
}
