// Command bulwark runs the Bulwark service and its administration commands.
//
//	bulwark serve                      run the service
//	bulwark migrate                    apply database migrations
//	bulwark check [--deploy]           audit the configuration
//	bulwark user create --email E --name N [--admin]   password read from stdin
//	bulwark user import FILE           JSON lines exported from a Flask app
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
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/bulwarkhq/bulwark/internal/app"
	"github.com/bulwarkhq/bulwark/internal/config"
)

const usage = `usage: bulwark <command> [flags]

commands:
  serve                                   run the service
  migrate                                 apply database migrations
  check [--deploy]                        audit the configuration (exit 1 on errors)
  user create --email E --name N [--admin]  add an account; password read from stdin
  user import FILE                        import JSON lines exported from a Flask app
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
	log := newLogger(cfg, stderr)
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
	default:
		fmt.Fprintf(stderr, "bulwark: unknown user command %q\n", args[0])
		return exitConfig
	}
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
