package main

import (
	"context"
	"fmt"
	"io"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/service"
)

// runBootstrap runs `strata bootstrap`: a new org, its owner and their API
// key, printed alone on the last line of stdout.
func runBootstrap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bootstrap", "bootstrap --org SLUG --email EMAIL [--name NAME] [--db URL]", stderr)
	dbURL := fs.String("db", envOr("STRATA_DB", defaultDB), "database URL (env STRATA_DB)")
	in := service.BootstrapInput{}
	fs.StringVar(&in.OrgSlug, "org", "", "the new org's slug (required)")
	fs.StringVar(&in.OrgName, "org-name", "", "the new org's name (default: the slug)")
	fs.StringVar(&in.Region, "region", "", "the new org's home region")
	fs.StringVar(&in.Email, "email", "", "the owner's email (required)")
	fs.StringVar(&in.Name, "name", "", "the owner's name")
	migrate := fs.Bool("migrate", false, "apply pending migrations on PostgreSQL first")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if in.OrgSlug == "" || in.Email == "" || fs.NArg() > 0 {
		fs.Usage()
		return usageError{"bootstrap: --org and --email are required"}
	}
	log, _ := newLogger("text", stderr)
	db, err := openDB(ctx, *dbURL, *migrate, log)
	if err != nil {
		return err
	}
	defer db.Close()
	defer sealQueued(db, log)
	svc := service.New(db, rbac.New(db.RoleBindings(), rbac.Options{}), service.Options{})
	org, key, err := svc.Bootstrap(ctx, in, service.Request{RemoteAddr: "cli"})
	if err != nil {
		return failure{err}
	}
	fmt.Fprintf(stdout, "created org %s (%s) with owner %s\nAPI key (shown once, store it now):\n%s\n", org.Slug, org.ID, in.Email, key.Secret)
	return nil
}
