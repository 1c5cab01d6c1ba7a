package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// runImport runs `strata import projects`: a bulk import from a JSONL or CSV
// file (or stdin), streamed in batches, each one transaction, one bulk
// insert and one audit event.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "projects" {
		return usageError{"import: want 'projects' (strata import projects --org SLUG --file F)"}
	}
	fs := newFlags("import projects", "import projects --org SLUG --file F|- [--format jsonl|csv] [--batch N] [--db URL]", stderr)
	dbURL := fs.String("db", envOr("STRATA_DB", defaultDB), "database URL (env STRATA_DB)")
	slug := fs.String("org", "", "the org's slug (required)")
	file := fs.String("file", "", "the input, or - for stdin (required): JSONL, one {\"name\":...,\"description\":...} per line, or CSV with a header row name,description")
	format := fs.String("format", "", "jsonl or csv (default: csv for a .csv file, else jsonl)")
	var opts service.ImportOptions
	fs.IntVar(&opts.BatchSize, "batch", service.DefaultImportBatch, "rows per batch: per transaction, bulk insert and audit event")
	fs.Int64Var(&opts.Skip, "skip", 0, "skip the first N rows (to resume after a failed import's committed batches)")
	fs.BoolVar(&opts.DryRun, "dry-run", false, "read and check every row, write nothing")
	key := fs.String("key", "", "act as the member whose API key this is (needs projects.create); default: the system, audited as such")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *slug == "" || *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return usageError{"import projects: --org and --file are required"}
	}
	switch f := strings.ToLower(*format); {
	case f == "" && strings.EqualFold(filepath.Ext(*file), ".csv"):
		opts.Format = service.CSV
	case f == "" || f == "jsonl":
		opts.Format = service.JSONL
	case f == "csv":
		opts.Format = service.CSV
	default:
		return usageError{"--format must be jsonl or csv"}
	}
	if opts.BatchSize <= 0 || opts.Skip < 0 {
		return usageError{"--batch must be positive and --skip not negative"}
	}
	in := io.Reader(os.Stdin)
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return usageError{err.Error()}
		}
		defer f.Close()
		in = f
	}

	log, _ := newLogger("text", stderr)
	db, err := openDB(ctx, *dbURL, false, log)
	if err != nil {
		return err
	}
	defer db.Close()
	defer sealQueued(db, log)
	svc := service.New(db, rbac.New(db.RoleBindings(), rbac.Options{}), service.Options{})
	req := service.Request{RemoteAddr: "cli", RequestID: "import"}
	p := service.System(req)
	if *key != "" {
		if p, err = svc.Authenticate(ctx, *key, req); err != nil {
			return failure{err}
		}
	}
	start := time.Now()
	if progressBar(stderr) != nil { // a terminal
		opts.Progress = func(n int64) { fmt.Fprintf(stderr, "\r%d rows", n) }
	}
	res, err := svc.ImportProjects(ctx, p, *slug, in, opts)
	if opts.Progress != nil {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		if res.Rows > 0 {
			err = fmt.Errorf("%w\nthe first %d rows (%d batches) were imported before it; add --skip %d to resume after them", err, res.Rows, res.Batches, opts.Skip+res.Rows)
		}
		if repo.RowOf(err) > 0 || errors.Is(err, repo.ErrForbidden) || errors.Is(err, repo.ErrNotFound) {
			return failure{err}
		}
		return err
	}
	verb := "imported"
	if opts.DryRun {
		verb = "checked (dry run, nothing written)"
	}
	d := time.Since(start)
	fmt.Fprintf(stdout, "%s %d projects into %s in %d batches, %s (%.0f rows/s)\n", verb, res.Rows, *slug, res.Batches, d.Round(time.Millisecond), float64(res.Rows)/d.Seconds())
	return nil
}
