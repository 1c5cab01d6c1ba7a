// Package testdb gives tests fresh, migrated Strata databases of either
// dialect: an in-memory SQLite database, or a PostgreSQL database cloned from
// a migrated template on the cluster internal/pgtest provides.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		for _, d := range testdb.Dialects {
//			t.Run(string(d), func(t *testing.T) {
//				db := testdb.Open(t, d)
//				...
//			})
//		}
//	}
package testdb

import (
	"context"
	"testing"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
)

// Dialects lists both dialects, SQLite first.
var Dialects = []repo.Dialect{repo.SQLite, repo.PostgreSQL}

// schema is the PostgreSQL template: the embedded migrations, applied once
// per process (and reused across processes while the migrations are unchanged).
var schema = pgtest.Template{ID: "strata-" + mustHash(), Build: migrateURL}

func mustHash() string {
	h, err := pgtest.HashFS(migrations.PostgreSQL())
	if err != nil {
		panic(err)
	}
	return h[:16]
}

func migrateURL(ctx context.Context, url string) error {
	db, err := strata.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	return strata.Migrate(ctx, db)
}

// Open returns a fresh, migrated, empty database of the dialect, closed (and
// on PostgreSQL dropped) when t ends. A PostgreSQL test is skipped, or fails
// with STRATA_TEST_REQUIRE_POSTGRES=1, when no PostgreSQL can be had.
func Open(t testing.TB, d repo.Dialect) repo.DB {
	t.Helper()
	switch d {
	case repo.PostgreSQL:
		return openURL(t, PostgresURL(t))
	case repo.SQLite:
		db := openURL(t, "sqlite::memory:")
		if err := strata.Migrate(context.Background(), db); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		return db
	}
	t.Fatalf("testdb: unknown dialect %q", d)
	return nil
}

// PostgresURL returns the URL of a fresh, migrated PostgreSQL database.
func PostgresURL(t testing.TB) string {
	t.Helper()
	return pgtest.NewDatabase(t, schema)
}

func openURL(t testing.TB, url string) repo.DB {
	t.Helper()
	db, err := strata.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
