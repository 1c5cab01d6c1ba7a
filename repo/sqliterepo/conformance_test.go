package sqliterepo_test

import (
	"testing"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/repotest"
)

// TestConformance runs the repo conformance suite, each case on a fresh
// migrated file database (WAL, writer and readers as in production).
func TestConformance(t *testing.T) {
	repotest.Run(t, repotest.Harness{
		Dialect: repo.SQLite,
		Open:    func(t *testing.T) repo.DB { return openMigrated(t) },
	})
}
