package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/strata-go/strata"
)

// runMigrate runs `strata migrate up | down [N] | version | force V`.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "migrate [--db URL] up | down [N] | version | force V", stderr)
	dbURL := fs.String("db", envOr("STRATA_DB", defaultDB), "database URL (env STRATA_DB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return usageError{"migrate: missing action (up, down, version or force)"}
	}
	db, err := strata.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := strata.NewMigrator(db)
	if err != nil {
		return err
	}
	defer m.Close()

	switch action := rest[0]; action {
	case "up":
		if len(rest) != 1 {
			return usageError{"migrate up takes no argument"}
		}
		err = m.Up()
	case "down":
		n := 0 // all
		if len(rest) == 2 {
			if n, err = strconv.Atoi(rest[1]); err != nil || n < 1 {
				return usageError{"migrate down N: N must be a positive integer"}
			}
		} else if len(rest) > 2 {
			return usageError{"migrate down takes at most one argument"}
		}
		err = m.Down(n)
	case "force":
		if len(rest) != 2 {
			return usageError{"migrate force V: missing version"}
		}
		v, perr := strconv.Atoi(rest[1])
		if perr != nil || v < -1 {
			return usageError{"migrate force V: V must be an integer >= -1"}
		}
		err = m.Force(v)
	case "version":
	default:
		return usageError{fmt.Sprintf("migrate: unknown action %q (want up, down, version or force)", action)}
	}
	if err != nil {
		return err
	}
	v, dirty, err := m.Version()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "version %d", v)
	if dirty {
		fmt.Fprint(stdout, " (dirty)")
	}
	fmt.Fprintln(stdout)
	return nil
}
