// Command bulwark runs the Bulwark service and its administration commands.
//
//	bulwark serve                      run the service
//	bulwark migrate                    apply database migrations
//	bulwark check [--deploy]           audit the configuration
//	bulwark user create --email E --name N [--admin]   password read from stdin
//	bulwark user import FILE           JSON lines exported from a Flask app
//	bulwark user reset-2fa --email E   turn off an account's second factors
//	bulwark apikey create --email E --name N --scope S [--scope S…] [--expires 90d]
//	                                   prints the new key, once, alone on stdout
//	bulwark apikey list --email E      an account's keys
//	bulwark apikey revoke ID           revoke a key by its id
//	bulwark version
//
// Configuration comes from the environment; see README.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/bulwarkhq/bulwark/apikey"
	"github.com/bulwarkhq/bulwark/internal/app"
	"github.com/bulwarkhq/bulwark/internal/config"
	"github.com/bulwarkhq/bulwark/internal/logwriter"
)

const usage = `usage: bulwark <command> [flags]

commands:
  serve                                   run the service
  migrate                                 apply database migrations
  check [--deploy]                        audit the configuration (exit 1 on errors)
  user create --email E --name N [--admin]  add an account; password read from stdin
  user import FILE                        import JSON lines exported from a Flask app
  user reset-2fa --email E                turn off an account's second factors (TOTP,
                                          recovery codes, passkeys) for a locked-out user
  apikey create --email E --name N --scope S [--scope S...] [--expires 90d]
                                          make an API key; printed once, alone on stdout
                                          scopes: users:read, users:write (admins only),
                                          files:read, files:write; expiry: 90d, 12h, ...
  apikey list --email E                   list an account's API keys
  apikey revoke ID                        revoke an API key
  version                                 print the version
`

// Exit codes: 1 for a failed command or check, 2 for bad usage or an unsafe
// configuration (the service refuses to start).
const (
	exitFailed = 1
	exitConfig = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitConfig
	}
	if args[0] == "version" {
		fmt.Fprintln(stdout, "bulwark", app.Version)
		return 0
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: configuration: %v\n", err)
		return exitConfig
	}
	logOut := stderr
	if args[0] == "serve" {
		// The access log writes a line per request: buffer it, flushed
		// every 200 ms and at exit (see internal/logwriter).
		w := logwriter.New(stderr, 64<<10, 200*time.Millisecond)
		defer w.Close()
		logOut = w
	}
	log := newLogger(cfg, logOut)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch args[0] {
	case "serve":
		return serve(ctx, cfg, log, stderr)
	case "migrate":
		if err := app.Migrate(ctx, cfg); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintln(stdout, "migrations applied")
		return 0
	case "check":
		fs := flag.NewFlagSet("check", flag.ContinueOnError)
		fs.SetOutput(stderr)
		deploy := fs.Bool("deploy", false, "check as for a production deployment")
		if fs.Parse(args[1:]) != nil {
			return exitConfig
		}
		return check(cfg, *deploy, stdout)
	case "user":
		return user(ctx, cfg, args[1:], stdin, stdout, stderr)
	case "apikey":
		return apiKey(ctx, cfg, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "bulwark: unknown command %q\n\n%s", args[0], usage)
		return exitConfig
	}
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, stderr io.Writer) int {
	err := app.Serve(ctx, cfg, log)
	if _, unsafe := errors.AsType[*app.UnsafeConfigError](err); unsafe {
		fmt.Fprintf(stderr, "bulwark: %v\n", err)
		return exitConfig
	}
	if err != nil {
		return fail(stderr, err)
	}
	return 0
}

func check(cfg *config.Config, deploy bool, stdout io.Writer) int {
	findings := config.Check(cfg, deploy)
	code := 0
	for _, f := range findings {
		fmt.Fprintln(stdout, f.String())
		if f.Severity == config.Error {
			code = exitFailed
		}
	}
	if len(findings) == 0 {
		fmt.Fprintln(stdout, "no issues found")
	}
	return code
}

func user(ctx context.Context, cfg *config.Config, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitConfig
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("user create", flag.ContinueOnError)
		fs.SetOutput(stderr)
		email := fs.String("email", "", "the account's email")
		name := fs.String("name", "", "the account's display name")
		admin := fs.Bool("admin", false, "make the account an administrator")
		if fs.Parse(args[1:]) != nil || *email == "" || *name == "" {
			fmt.Fprintln(stderr, "usage: bulwark user create --email E --name N [--admin]  (password on stdin)")
			return exitConfig
		}
		pw, err := readPassword(stdin, stderr)
		if err != nil {
			return fail(stderr, err)
		}
		stored, err := app.CreateUser(ctx, cfg, *email, *name, *admin, pw)
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "created %s\n", stored)
		return 0
	case "import":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: bulwark user import FILE")
			return exitConfig
		}
		// #nosec G304 G703 -- FILE is the operator's own command-line argument
		f, err := os.Open(args[1])
		if err != nil {
			return fail(stderr, err)
		}
		defer f.Close()
		res, err := app.ImportUsers(ctx, cfg, f)
		for _, p := range res.Problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stdout, "imported %d, skipped %d (duplicate), refused %d (unreadable)\n", res.Imported, res.Skipped, res.Refused)
		if err != nil {
			return fail(stderr, err)
		}
		return 0
	case "reset-2fa":
		fs := flag.NewFlagSet("user reset-2fa", flag.ContinueOnError)
		fs.SetOutput(stderr)
		email := fs.String("email", "", "the account's email")
		if fs.Parse(args[1:]) != nil || *email == "" || fs.NArg() != 0 {
			fmt.Fprintln(stderr, "usage: bulwark user reset-2fa --email E")
			return exitConfig
		}
		removed, err := app.ResetSecondFactors(ctx, cfg, *email)
		if err != nil {
			return fail(stderr, err)
		}
		if removed {
			fmt.Fprintln(stdout, "second factors removed: the account signs in with its password alone")
		} else {
			fmt.Fprintln(stdout, "the account had no second factor")
		}
		return 0
	default:
		fmt.Fprintf(stderr, "bulwark: unknown user command %q\n", args[0])
		return exitConfig
	}
}

// #nosec G101 -- usage text naming the apikey command, not a credential
const apiKeyUsage = `usage:
  bulwark apikey create --email E --name N --scope S [--scope S...] [--expires 90d]
  bulwark apikey list --email E
  bulwark apikey revoke ID
`

func apiKey(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, apiKeyUsage)
		return exitConfig
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
		fs.SetOutput(stderr)
		email := fs.String("email", "", "the owner's email")
		name := fs.String("name", "", "a name for the key, 1 to 100 characters")
		var scopes stringList
		fs.Var(&scopes, "scope", "a scope to grant (repeat for more)")
		expires := fs.String("expires", "", "lifetime: days (90d) or a Go duration (12h); default: no expiry")
		if fs.Parse(args[1:]) != nil || fs.NArg() != 0 || *email == "" || *name == "" || len(scopes) == 0 {
			fmt.Fprint(stderr, apiKeyUsage)
			return exitConfig
		}
		lifetime, err := parseLifetime(*expires)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark: --expires: %v\n", err)
			return exitConfig
		}
		key, err := app.CreateAPIKey(ctx, cfg, *email, *name, scopes, lifetime)
		if err != nil {
			return fail(stderr, err)
		}
		// The key alone on stdout, so `key=$(bulwark apikey create …)`
		// works; the advice goes to stderr.
		fmt.Fprintln(stdout, key)
		fmt.Fprintln(stderr, "Store this key now: it is not shown again, and only its hash is kept.")
		return 0
	case "list":
		fs := flag.NewFlagSet("apikey list", flag.ContinueOnError)
		fs.SetOutput(stderr)
		email := fs.String("email", "", "the owner's email")
		if fs.Parse(args[1:]) != nil || fs.NArg() != 0 || *email == "" {
			fmt.Fprint(stderr, apiKeyUsage)
			return exitConfig
		}
		keys, err := app.ListAPIKeys(ctx, cfg, *email)
		if err != nil {
			return fail(stderr, err)
		}
		printAPIKeys(stdout, keys)
		return 0
	case "revoke":
		if len(args) != 2 {
			fmt.Fprint(stderr, apiKeyUsage)
			return exitConfig
		}
		if err := app.RevokeAPIKey(ctx, cfg, args[1]); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "revoked %s\n", args[1])
		return 0
	default:
		fmt.Fprintf(stderr, "bulwark: unknown apikey command %q\n\n%s", args[0], apiKeyUsage)
		return exitConfig
	}
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// maxLifetime bounds --expires (ten years), far below time.Duration's limit.
const maxLifetime = 3650 * 24 * time.Hour

// parseLifetime reads --expires: "" (no expiry), whole days ("90d") or a
// Go duration ("12h", "90m").
func parseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > int(maxLifetime/(24*time.Hour)) {
			return 0, fmt.Errorf("%q: want whole days from 1d to %dd", s, int(maxLifetime/(24*time.Hour)))
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want days (90d) or a duration (12h)", s)
		}
	}
	if d < time.Minute || d > maxLifetime {
		return 0, fmt.Errorf("%q: want from 1m to %dd", s, int(maxLifetime/(24*time.Hour)))
	}
	return d, nil
}

// printAPIKeys writes one line per key: id, name, scopes, created, last
// used, expires, revoked. Times are UTC to the minute; "-" is never.
func printAPIKeys(w io.Writer, keys []apikey.Key) {
	if len(keys) == 0 {
		fmt.Fprintln(w, "no API keys")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04Z")
	}
	for _, k := range keys {
		scopes := make([]string, len(k.Scopes))
		for i, s := range k.Scopes {
			scopes[i] = string(s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, strconv.Quote(k.Name), strings.Join(scopes, ","),
			when(k.CreatedAt), when(k.LastUsed), when(k.ExpiresAt), when(k.RevokedAt))
	}
	_ = tw.Flush() // like the Fprint calls above: no one to tell if stdout fails
}

// readPassword reads one line from stdin, without echo on a terminal.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password given on stdin")
	}
	return line, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.Production {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "bulwark: %v\n", err)
	return exitFailed
}
