package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// runAudit runs `strata audit verify|export`.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"audit: want 'verify' or 'export'"}
	}
	fs := newFlags("audit "+args[0], "audit verify|export --org SLUG [--db URL] [--max-pending D] [--format jsonl|csv] [--since T] [--until T]", stderr)
	dbURL := fs.String("db", envOr("STRATA_DB", defaultDB), "database URL (env STRATA_DB)")
	slug := fs.String("org", "", "the org's slug (required)")
	var format, since, until string
	var maxPending time.Duration
	if args[0] == "verify" {
		fs.DurationVar(&maxPending, "max-pending", audit.DefaultMaxPending, "fail when an event has waited longer than this to be sealed (a stuck or stopped sealer); 0: do not check")
	}
	if args[0] == "export" {
		fs.StringVar(&format, "format", "jsonl", "jsonl or csv")
		fs.StringVar(&since, "since", "", "only events at or after this RFC 3339 time")
		fs.StringVar(&until, "until", "", "only events before this RFC 3339 time")
	} else if args[0] != "verify" {
		return usageError{fmt.Sprintf("audit: unknown action %q (want verify or export)", args[0])}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *slug == "" || fs.NArg() > 0 {
		fs.Usage()
		return usageError{"audit: --org is required"}
	}
	var filter repo.AuditFilter
	var err error
	if filter.Since, err = parseTimeFlag("since", since); err != nil {
		return err
	}
	if filter.Until, err = parseTimeFlag("until", until); err != nil {
		return err
	}
	if format != "" && format != string(service.JSONL) && format != string(service.CSV) {
		return usageError{"--format must be jsonl or csv"}
	}
	log, _ := newLogger("text", stderr)
	db, err := openDB(ctx, *dbURL, false, log)
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := db.Orgs().GetBySlug(ctx, *slug)
	if err != nil {
		return fmt.Errorf("org %q: %w", *slug, err)
	}
	progress := progressBar(stderr)
	if args[0] == "verify" {
		if maxPending == 0 {
			maxPending = -1 // VerifyOptions: no check
		}
		report, err := audit.Verify(ctx, db.AuditEvents(), org.ID, audit.VerifyOptions{Progress: progress, MaxPending: maxPending})
		if err != nil {
			return err
		}
		if report.Reason == audit.ReasonUnsealed {
			return failure{fmt.Errorf("audit trail of %s: %s", org.Slug, report.Message)}
		}
		if !report.OK {
			return failure{fmt.Errorf("audit chain of %s broken at seq %d: %s: %s", org.Slug, report.FirstBad, report.Reason, report.Message)}
		}
		fmt.Fprintf(stdout, "audit chain of %s intact: %d events, last seq %d, last hash %x\n", org.Slug, report.Events, report.LastSeq, report.LastHash)
		if b := report.Backlog; b.Pending > 0 {
			fmt.Fprintf(stdout, "%d events not yet sealed, the oldest (%s) %s old\n", b.Pending, b.OldestID, time.Since(b.OldestTime).Round(time.Millisecond))
		}
		return nil
	}
	n, err := service.ExportOrg(ctx, db, org.ID, service.ExportFormat(format), audit.ExportOptions{Filter: filter, Progress: progress}, stdout)
	if err != nil {
		return err
	}
	if progress != nil {
		fmt.Fprintf(stderr, "\rexported %d events\n", n)
	}
	return nil
}

func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Sprintf("--%s: want an RFC 3339 time such as 2026-01-02T15:04:05Z", name)}
	}
	return t, nil
}

// progressBar returns a progress callback drawing on w when w is a terminal,
// and nil otherwise (logs and pipes get no control characters).
func progressBar(w io.Writer) func(int64) {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(n int64) { fmt.Fprintf(w, "\r%d events", n) }
}
