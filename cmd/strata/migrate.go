package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/strata-go/strata"
)

// runMigrate runs `strata migrate up | down [N] | version | force V`. Its
// flags may come before the action or after it (and its argument): the
// usage line puts --db last, and an ignored --db would act on the default
// database instead.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "migrate [--db URL] up | down [N] | version | force V [--db URL]", stderr)
	dbURL := fs.String("db", envOr("STRATA_DB", defaultDB), "database URL (env STRATA_DB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usageError{"migrate: missing action (up, down, version or force)"}
	}
	rest, after := []string{fs.Arg(0)}, fs.Args()[1:]
	// down and force take a number, which may be negative (force -1): it is
	// the action's argument, not a flag.
	if action := rest[0]; (action == "down" || action == "force") && len(after) > 0 && actionArg(after[0]) {
		rest, after = append(rest, after[0]), after[1:]
	}
	if err := fs.Parse(after); err != nil {
		return err
	}
	rest = append(rest, fs.Args()...)
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
		if len(rest) != 1 {
			return usageError{"migrate version takes no argument"}
		}
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

// actionArg reports whether arg, after `migrate down` or `migrate force`, is
// the action's argument rather than a flag: anything but a dash-led word
// that is not a number.
func actionArg(arg string) bool {
	if !strings.HasPrefix(arg, "-") {
		return true
	}
	_, err := strconv.Atoi(arg)
	return err == nil
}
