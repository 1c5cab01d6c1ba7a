package pgrepo_test

import (
	"slices"
	"testing"

	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/internal/constraint"
	"github.com/strata-go/strata/repo/pgrepo"
)

// TestUniqueKeysDeclared checks package constraint against the migrated
// PostgreSQL schema: each unique key of a table (but the audit trail's and
// golang-migrate's) is declared under its name, and each declared key is in
// the schema.
func TestUniqueKeysDeclared(t *testing.T) {
	db := testdb.Open(t, repo.PostgreSQL).(*pgrepo.DB)
	rows, err := db.Pool().Query(t.Context(), `
		SELECT t.relname, i.relname
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		WHERE x.indisunique AND t.relnamespace = current_schema()::regnamespace
		  AND t.relname NOT LIKE 'audit!_%' ESCAPE '!' AND t.relname <> 'schema_migrations'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var table, index string
		if err := rows.Scan(&table, &index); err != nil {
			t.Fatal(err)
		}
		if u, ok := constraint.Named(index); !ok || u.Table != table {
			t.Errorf("unique key %s of table %s is not declared in package constraint", index, table)
		}
		found = append(found, index)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, u := range constraint.Uniques() {
		if !slices.Contains(found, u.Name) {
			t.Errorf("declared unique key %s (%s) is not in the PostgreSQL schema", u.Name, u.Table)
		}
	}
}
