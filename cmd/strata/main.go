// Command strata serves Strata's HTTP API over an embedded SQLite file or
// PostgreSQL, and manages its database.
//
//	strata serve   [--db URL] [--addr HOST:PORT]   serve the API (default sqlite:strata.db)
//	strata migrate up | down [N] | version | force V [--db URL]
//	strata bootstrap --org SLUG --email EMAIL [--name NAME] [--db URL]
//	strata audit verify|export --org SLUG [--db URL] [--format jsonl|csv]
//	strata version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Version is the release, set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed (e.g. a broken audit chain)
	exitUsage = 2 // bad usage or cannot connect
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `strata: a multi-tenant data layer and its server

Usage:
  strata serve     serve the HTTP API (default database sqlite:strata.db)
  strata migrate   apply or roll back the schema: up | down [N] | version | force V
  strata bootstrap create an org, its owner and an API key
  strata import    bulk-import projects from JSONL or CSV
  strata audit     verify an org's audit chain, or export it (JSONL or CSV)
  strata version   print the version

Run 'strata COMMAND --help' for a command's flags.
`

// run dispatches a command line; it returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], stdout, stderr)
	case "bootstrap":
		err = runBootstrap(ctx, args[1:], stdout, stderr)
	case "audit":
		err = runAudit(ctx, args[1:], stdout, stderr)
	case "import":
		err = runImport(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "strata %s\n", Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "strata: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return exitCode(err, stderr)
}

// usageError marks errors in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "strata: %v\n", err)
	var ue usageError
	var fe failure
	switch {
	case errors.As(err, &fe):
		return exitFail
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitUsage
}

// failure marks a command that ran and found a problem (exit 1).
type failure struct{ error }

// envOr returns the environment variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// newFlags returns a flag set that prints its usage to stderr.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: strata %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
