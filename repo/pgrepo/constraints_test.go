package pgrepo_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/internal/constraint"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

// uniqueKey is a unique key of a migrated schema and the field the
// adapter's error of a violation of it names.
type uniqueKey struct {
	constraint.Key
	field string
}

// The unique keys of a migrated schema, one row each: the key's name, its
// table, and its columns in order, comma-separated, an expression as "".
const (
	pgUniqueKeysSQL = `
		SELECT i.relname, t.relname,
		       array_to_string(array(SELECT coalesce(a.attname, '')
		             FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
		             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
		             ORDER BY k.n), ',')
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		WHERE x.indisunique AND t.relnamespace = current_schema()::regnamespace`
	sqliteUniqueKeysSQL = `
		SELECT il.name, m.name,
		       (SELECT group_concat(coalesce(name, ''), ',') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno))
		FROM sqlite_schema m, pragma_index_list(m.name) il
		WHERE m.type = 'table' AND il."unique"`
)

// uniqueKeys returns the unique keys query lists in db, each with the field
// field says an adapter names for it.
func uniqueKeys(t *testing.T, db *sql.DB, query string, field func(constraint.Key) string) []uniqueKey {
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []uniqueKey
	for rows.Next() {
		var k uniqueKey
		var cols string
		if err := rows.Scan(&k.Name, &k.Table, &cols); err != nil {
			t.Fatal(err)
		}
		if k.Columns = strings.Split(cols, ","); slices.Contains(k.Columns, "") {
			k.Columns = nil // an expression
		}
		k.field = field(k.Key)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// pgUniqueKeys returns the unique keys of db's schema, each with the field
// db names for it (from the catalog it loaded at Open).
func pgUniqueKeys(t *testing.T, db *pgrepo.DB) []uniqueKey {
	conn := stdlib.OpenDBFromPool(db.Pool())
	defer conn.Close()
	return uniqueKeys(t, conn, pgUniqueKeysSQL, func(k constraint.Key) string { return db.UniqueViolationField(k.Name) })
}

// sqliteUniqueKeys returns the unique keys of db's schema, each with the
// field sqliterepo names for it from what the message of a violation says
// of it (see its violatedKey): the name of an index on expressions, the
// table and columns of any other key.
func sqliteUniqueKeys(t *testing.T, db *sqliterepo.DB) []uniqueKey {
	return uniqueKeys(t, db.Writer(), sqliteUniqueKeysSQL, func(k constraint.Key) string {
		if k.Columns == nil {
			return constraint.Field(constraint.Key{Name: k.Name})
		}
		return constraint.Field(constraint.Key{Table: k.Table, Columns: k.Columns})
	})
}

// same reports whether a PostgreSQL key and an SQLite key are the same key
// of the schema: by name when SQLite's indexes an expression (SQLite then
// reports it by the name, which migrations/sqlite makes PostgreSQL's), by
// table and columns otherwise.
func same(pg, lite constraint.Key) bool {
	if lite.Columns == nil {
		return pg.Name == lite.Name
	}
	return pg.Table == lite.Table && slices.Equal(pg.Columns, lite.Columns)
}

// TestUniqueKeysNameTheSameField derives, for each unique key of both
// migrated schemas, the field each adapter's error of a violation names,
// and checks that both name the same, with no key of one schema missing
// from the other; the audit trail's keys, which differ between the
// dialects, name none. Every exception package constraint declares must be
// a key of both schemas. (Which field is right is pinned by package
// constraint's tests and by the conformance suite's conflicts.)
func TestUniqueKeysNameTheSameField(t *testing.T) {
	pg := pgUniqueKeys(t, testdb.Open(t, repo.PostgreSQL).(*pgrepo.DB))
	lite := sqliteUniqueKeys(t, testdb.Open(t, repo.SQLite).(*sqliterepo.DB))
	audit := func(k uniqueKey) bool { return strings.HasPrefix(k.Table, "audit_") }
	for _, k := range slices.Concat(pg, lite) {
		if audit(k) && k.field != "" {
			t.Errorf("audit key %s %+v names field %q, want none", k.Table, k.Key, k.field)
		}
	}
	pg, lite = slices.DeleteFunc(pg, audit), slices.DeleteFunc(lite, audit)
	liteKeys := slices.Clone(lite) // lite loses each key paired below
	if len(pg) < 10 {
		t.Fatalf("%d unique keys in the PostgreSQL schema: the catalog query is broken", len(pg))
	}
	for _, p := range pg {
		i := slices.IndexFunc(lite, func(l uniqueKey) bool { return same(p.Key, l.Key) })
		if i < 0 {
			t.Errorf("PostgreSQL key %s on %s %v is not in the SQLite schema", p.Name, p.Table, p.Columns)
			continue
		}
		if l := lite[i]; l.field != p.field {
			t.Errorf("key %s on %s %v: PostgreSQL names field %q, SQLite %q", p.Name, p.Table, p.Columns, p.field, l.field)
		}
		lite = slices.Delete(lite, i, i+1)
	}
	for _, l := range lite {
		t.Errorf("SQLite key %s on %s %v is not in the PostgreSQL schema", l.Name, l.Table, l.Columns)
	}
	for _, e := range constraint.Exceptions() {
		if !slices.ContainsFunc(pg, func(k uniqueKey) bool { return k.Name == e.Name && k.Table == e.Table }) {
			t.Errorf("exception %s on %s is not a key of the PostgreSQL schema", e.Name, e.Table)
		}
	}
	for _, e := range constraint.Exceptions() {
		if !slices.ContainsFunc(liteKeys, func(k uniqueKey) bool { return k.Table == e.Table && e.Matches(k.Key) }) {
			t.Errorf("exception %s on %s is not a key of the SQLite schema", e.Name, e.Table)
		}
	}
}

// TestMigrateLoadsUniqueKeys opens an empty database, which has no unique
// keys yet, then migrates it: the migration reloads the keys, and a
// violation names its field at once.
func TestMigrateLoadsUniqueKeys(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t, pgtest.Template{ID: "empty", Build: func(context.Context, string) error { return nil }})
	db, err := pgrepo.Open(ctx, url, pgrepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if f := db.UniqueViolationField("orgs_slug_key"); f != "" {
		t.Fatalf("orgs_slug_key names %q before the migration made it", f)
	}
	if err := strata.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme"}); err != nil {
		t.Fatal(err)
	}
	_, err = db.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme again"})
	if !errors.Is(err, repo.ErrConflict) || repo.FieldOf(err) != "slug" {
		t.Fatalf("second org with slug acme: %v (field %q), want a conflict on slug", err, repo.FieldOf(err))
	}
}
