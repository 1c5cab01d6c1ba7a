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

// query is one named query of a .sql file.
type query struct {
	file string // base name, e.g. "projects.sql"
	kind string // ":one", ":many", ...
	text string // the query with its comments, trimmed
}

// TestQueriesMatchAcrossDialects holds the query folders to their roles:
// queries/common is the SQL both dialects run as it is, queries/pg and
// queries/sqlite what must differ. It fails when a query name is defined
// twice, when a dialect's query has no counterpart in the other dialect
// (same name, same file, same result kind), when every query of a dialect
// file is the same text in the other dialect (write the file once, in
// queries/common; a file whose queries differ in part keeps the rest with
// them), or when a file name of queries/common is also used in a dialect
// folder (sqlc names its output after the file). The allowed differences:
// a PostgreSQL :copyfrom (COPY, which sqlc offers for pgx only) pairs with
// a SQLite :exec doing the same bulk insert, and the files of dialectOnly
// have no counterpart.
func TestQueriesMatchAcrossDialects(t *testing.T) {
	for f := range dialectOnly {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("dialect-only query file: %v", err)
		}
	}
	common := readQueries(t, "queries/common")
	pg, sqlite := readQueries(t, "queries/pg"), readQueries(t, "queries/sqlite")
	if len(common) == 0 {
		t.Fatal("no queries found in queries/common")
	}
	for name, q := range common {
		for dir, other := range map[string]map[string]query{"queries/pg": pg, "queries/sqlite": sqlite} {
			if o, ok := other[name]; ok {
				t.Errorf("query %s is in queries/common (%s) and in %s (%s)", name, q.file, dir, o.file)
			}
		}
	}
	for _, dir := range []string{"queries/pg", "queries/sqlite"} {
		for _, f := range sqlFiles(t, dir) {
			if _, err := os.Stat(filepath.Join("queries/common", filepath.Base(f))); err == nil {
				t.Errorf("%s: queries/common has a file of that name too", f)
			}
		}
	}
	differs := map[string]bool{} // by file: some query differs between the dialects
	for name, q := range pg {
		o, ok := sqlite[name]
		switch {
		case !ok:
			t.Errorf("query %s is in queries/pg (%s) but not in queries/sqlite", name, q.file)
		case o.file != q.file || o.kind != q.kind && !(q.kind == ":copyfrom" && o.kind == ":exec"):
			t.Errorf("query %s: queries/pg has %s %s, queries/sqlite has %s %s", name, q.file, q.kind, o.file, o.kind)
		}
		differs[q.file] = differs[q.file] || !ok || o.text != q.text
	}
	for file, d := range differs {
		if !d {
			t.Errorf("every query of %s is the same in both dialects: move the file to queries/common", file)
		}
	}
	for name, q := range sqlite {
		if _, ok := pg[name]; !ok {
			t.Errorf("query %s is in queries/sqlite (%s) but not in queries/pg", name, q.file)
		}
	}
	t.Logf("%d queries written once, %d written per dialect", len(common), len(pg))
}

// sqlFiles lists the .sql files of dir.
func sqlFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no SQL files in %s: %v", dir, err)
	}
	slices.Sort(files)
	return files
}

// readQueries reads the named queries of dir's .sql files.
func readQueries(t *testing.T, dir string) map[string]query {
	t.Helper()
	out := map[string]query{}
	for _, f := range sqlFiles(t, dir) {
		if dialectOnly[filepath.ToSlash(f)] {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(src)
		idx := queryName.FindAllStringSubmatchIndex(text, -1)
		for i, m := range idx {
			name := text[m[2]:m[3]]
			end := len(text)
			if i+1 < len(idx) {
				end = idx[i+1][0]
			}
			if _, dup := out[name]; dup {
				t.Errorf("%s: query %s defined twice", dir, name)
			}
			out[name] = query{file: filepath.Base(f), kind: ":" + text[m[4]:m[5]], text: strings.TrimSpace(text[m[0]:end])}
		}
	}
	return out
}
