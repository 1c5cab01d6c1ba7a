package pgscale_test

import (
	"os"
	"testing"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/repotest"
	"github.com/strata-go/strata/scaling"
)

// TestConformance runs the repo contract on a database opened with
// OpenCluster: every read goes through the routed Query and QueryRow, every
// write through the cluster's Writer. It takes as long as pgrepo's own run
// of the suite (a database per case: about 50 s on 2 cores), so a plain go
// test skips it; make test, and so CI, sets STRATA_TEST_ROUTER_CONFORMANCE=1.
// TestReplication covers the same paths briefly.
func TestConformance(t *testing.T) {
	if os.Getenv("STRATA_TEST_ROUTER_CONFORMANCE") != "1" {
		t.Skip("set STRATA_TEST_ROUTER_CONFORMANCE=1 (make test does) to run the repo suite through the router")
	}
	repotest.Run(t, repotest.Harness{
		Dialect: repo.PostgreSQL,
		Name:    "postgres via router",
		Open: func(t *testing.T) repo.DB {
			db, err := strata.OpenCluster(t.Context(), testdb.PostgresURL(t), nil, scaling.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		ConcurrentWriters: true,
	})
}
