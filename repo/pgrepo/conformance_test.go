package pgrepo_test

import (
	"testing"

	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/repotest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	repotest.Run(t, repotest.Harness{
		Dialect:           repo.PostgreSQL,
		Open:              func(t *testing.T) repo.DB { return testdb.Open(t, repo.PostgreSQL) },
		ConcurrentWriters: true,
	})
}
