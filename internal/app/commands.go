package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/bulwarkhq/bulwark/internal/app/web"
	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/server"
	"github.com/bulwarkhq/bulwark/internal/store"
	"github.com/bulwarkhq/bulwark/password"
	"github.com/bulwarkhq/bulwark/password/policy"
)

// Serve runs the service until ctx ends, then shuts down gracefully. In
// production it refuses an unsafe configuration (*UnsafeConfigError).
func Serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	d, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	h, err := NewHandler(d)
	if err != nil {
		return err
	}
	// The metrics listener starts before the service and stops with it.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	_, metricsDone, err := d.startMetrics(ctx, log)
	if err != nil {
		return err
	}
	err = server.Run(ctx, server.Options{
		Addr:        cfg.Addr,
		Handler:     h,
		TLSCertFile: cfg.TLSCertFile,
		TLSKeyFile:  cfg.TLSKeyFile,
		HTTPAddr:    cfg.HTTPAddr,
		Logger:      log,
	})
	stop()
	return errors.Join(err, metricsDone())
}

// Migrate applies the database migrations.
func Migrate(ctx context.Context, cfg *config.Config) error {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	return db.Close()
}

// CreateUser adds an account with a password that meets the policy, and
// returns the email as stored.
func CreateUser(ctx context.Context, cfg *config.Config, email, name string, admin bool, pw string) (string, error) {
	email, err := web.Email("email", email)
	if err != nil {
		return "", err
	}
	name, err = web.Name("name", name)
	if err != nil {
		return "", err
	}
	if err := (policy.Policy{MinLength: cfg.PasswordMinLength}).Check(pw, email, name); err != nil {
		return "", err
	}
	hash, err := password.NewHasher(password.Options{}).Hash(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return "", err
	}
	defer db.Close()
	err = db.CreateUser(ctx, &store.User{Email: email, Name: name, Admin: admin, PasswordHash: hash, EmailVerified: true})
	if errors.Is(err, store.ErrDuplicate) {
		return "", fmt.Errorf("an account with the email %s already exists", email)
	}
	return email, err
}

// ImportResult counts the lines of a user import.
type ImportResult struct {
	Imported, Skipped, Refused int
	Problems                   []string // one per refused line: line number and why, never the hash
}

// maxImportLine bounds one JSON line of an import file.
const maxImportLine = 64 << 10

// ImportUsers reads JSON lines exported from a Flask app, {"email", "name",
// "bio"?, "password_hash"}, and adds each account with its hash kept as it is:
// Werkzeug, bcrypt and argon2 hashes are upgraded to argon2id at the user's
// next sign-in. Duplicates are skipped; lines with unreadable hashes or
// invalid fields are refused.
func ImportUsers(ctx context.Context, cfg *config.Config, r io.Reader) (ImportResult, error) {
	var res ImportResult
	db, err := openDB(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer db.Close()
	hasher := password.NewHasher(password.Options{})
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxImportLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		u, why := parseImportLine(hasher, line)
		if why != "" {
			res.Refused++
			res.Problems = append(res.Problems, fmt.Sprintf("line %d: %s", n, why))
			continue
		}
		switch err := db.CreateUser(ctx, u); {
		case errors.Is(err, store.ErrDuplicate):
			res.Skipped++
		case err != nil:
			return res, fmt.Errorf("line %d: %w", n, err)
		default:
			res.Imported++
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read import: %w", err)
	}
	return res, nil
}

func parseImportLine(hasher *password.Hasher, line string) (*store.User, string) {
	var in struct {
		Email        string  `json:"email"`
		Name         string  `json:"name"`
		Bio          *string `json:"bio"`
		PasswordHash string  `json:"password_hash"`
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, "not a JSON object with email, name, bio and password_hash"
	}
	email, err := web.Email("email", in.Email)
	if err != nil {
		return nil, "invalid email"
	}
	name, err := web.Name("name", in.Name)
	if err != nil {
		return nil, "invalid name"
	}
	var bio string
	if in.Bio != nil {
		if bio, err = web.Bio("bio", *in.Bio); err != nil {
			return nil, "invalid bio"
		}
	}
	if err := hasher.ValidateHash(in.PasswordHash); err != nil {
		return nil, "unreadable password hash (want Werkzeug scrypt:/pbkdf2:, bcrypt $2a$/$2b$/$2y$, or argon2 PHC)"
	}
	return &store.User{Email: email, Name: name, Bio: bio, PasswordHash: in.PasswordHash, EmailVerified: true}, ""
}

// ResetSecondFactors turns off every second factor of the account with
// email (TOTP, recovery codes, and any other kind store.ResetSecondFactors
// knows), for an operator helping someone who lost them, and records the
// event. It reports whether there was anything to remove; an unknown
// email is an error.
func ResetSecondFactors(ctx context.Context, cfg *config.Config, email string) (bool, error) {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer db.Close()
	u, err := db.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("there is no account with the email %s", store.NormalizeEmail(email))
	} else if err != nil {
		return false, err
	}
	removed, err := db.ResetSecondFactors(ctx, u.ID)
	if err != nil {
		return false, err
	}
	err = db.RecordEvent(ctx, store.Event{UserID: u.ID, Kind: store.EventSecondFactorsReset, Detail: "bulwark user reset-2fa"})
	if err != nil {
		return removed, fmt.Errorf("second factors removed, but the event was not recorded: %w", err)
	}
	return removed, nil
}
