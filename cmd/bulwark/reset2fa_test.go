package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkhq/bulwark/internal/store"
)

// bulwark user reset-2fa removes an account's second factors, says
// whether there were any, and refuses an unknown email and bad usage.
func TestUserResetTwoFactor(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cmd := command(ctx, dir, nil, "user", "create", "--email", "lost@example.com", "--name", "Lost")
	cmd.Stdin = strings.NewReader("amber orchard whistle canyon\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}

	// TOTP on, as the account page would leave it.
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "data", "bulwark.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByEmail(ctx, "lost@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sealed := []byte("a sealed secret, opaque to the store")
	if err := db.StartTOTP(ctx, u.ID, sealed); err != nil {
		t.Fatal(err)
	}
	if err := db.ConfirmTOTP(ctx, u.ID, sealed, 1, [][32]byte{sha256.Sum256([]byte("code"))}); err != nil {
		t.Fatal(err)
	}

	out, err := command(ctx, dir, nil, "user", "reset-2fa", "--email", "Lost@Example.com").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "second factors removed") {
		t.Fatalf("reset-2fa: %v\n%s", err, out)
	}
	if _, err := db.UserTOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TOTP still on: %v", err)
	}
	if n, _ := db.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Fatalf("%d recovery codes left", n)
	}
	events, _ := db.RecentEvents(ctx, u.ID, 10)
	if len(events) == 0 || events[0].Kind != store.EventSecondFactorsReset {
		t.Fatalf("events: %+v", events)
	}

	out, err = command(ctx, dir, nil, "user", "reset-2fa", "--email", "lost@example.com").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no second factor") {
		t.Fatalf("second reset-2fa: %v\n%s", err, out)
	}
	if out, err := command(ctx, dir, nil, "user", "reset-2fa", "--email", "nobody@example.com").CombinedOutput(); exitCode(err) != 1 {
		t.Fatalf("unknown email: %v\n%s", err, out)
	}
	if out, err := command(ctx, dir, nil, "user", "reset-2fa").CombinedOutput(); exitCode(err) != 2 {
		t.Fatalf("no email: %v\n%s", err, out)
	}
}
