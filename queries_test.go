package strata_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var queryName = regexp.MustCompile(`(?m)^-- name: (\w+) :(\w+)`)

// dialectOnly are the query files of one dialect alone: how each seals audit
// events (migration 000005). PostgreSQL queues events for a sealer;
// SQLite's writer seals them in its own transaction.
var dialectOnly = map[string]bool{"queries/pg/audit_queue.sql": true, "queries/sqlite/audit_writer.sql": true}

// TestQueriesMatchAcrossDialects fails when a query exists in one dialect only,
// in another file, or with another result kind (:one, :many, ...). The
// allowed differences: a PostgreSQL :copyfrom (COPY, which sqlc offers for
// pgx only) pairs with a SQLite :exec doing the same bulk insert, and the
// files of dialectOnly.
func TestQueriesMatchAcrossDialects(t *testing.T) {
	pg, sqlite := readQueries(t, "queries/pg"), readQueries(t, "queries/sqlite")
	for f := range dialectOnly {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("dialect-only query file: %v", err)
		}
	}
	if len(pg) == 0 {
		t.Fatal("no queries found in queries/pg")
	}
	for name, where := range pg {
		if other, ok := sqlite[name]; !ok {
			t.Errorf("query %s is in queries/pg (%s) but not in queries/sqlite", name, where)
		} else if other != where && strings.Replace(where, " :copyfrom", " :exec", 1) != other {
			t.Errorf("query %s: queries/pg has %s, queries/sqlite has %s", name, where, other)
		}
	}
	for name, where := range sqlite {
		if _, ok := pg[name]; !ok {
			t.Errorf("query %s is in queries/sqlite (%s) but not in queries/pg", name, where)
		}
	}
	t.Logf("%d queries in each dialect", len(pg))
}

// readQueries maps each query name to "file :kind".
func readQueries(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no SQL files in %s: %v", dir, err)
	}
	slices.Sort(files)
	out := map[string]string{}
	for _, f := range files {
		if dialectOnly[filepath.ToSlash(f)] {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range queryName.FindAllStringSubmatch(string(src), -1) {
			if _, dup := out[m[1]]; dup {
				t.Errorf("%s: query %s defined twice", dir, m[1])
			}
			out[m[1]] = filepath.Base(f) + " :" + m[2]
		}
	}
	return out
}
