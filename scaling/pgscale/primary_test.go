package pgscale_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/scaling"
	"github.com/strata-go/strata/scaling/pgscale"
)

// TestReadsWaitForThePrimary cuts a cluster's primary off behind a proxy:
// reads that need it (strong ones, or any read without replicas) wait for
// it to come back, within Config.PrimaryWait and their own deadline.
func TestReadsWaitForThePrimary(t *testing.T) {
	ctx := t.Context()
	primary := pgtest.NewCluster(t)
	proxy := pgtest.NewProxy(t)
	proxy.SetTarget(primary.Port())
	open := func(wait time.Duration) *pgscale.Cluster {
		t.Helper()
		cfg := testConfig("")
		cfg.PrimaryWait = wait
		c, err := pgscale.Open(ctx, proxy.URL("postgres")+"&target_session_attrs=read-write", nil, cfg)
		check(t, err)
		t.Cleanup(c.Close)
		return c
	}
	strong := scaling.WithConsistency(ctx, scaling.Strong())
	row := func(ctx context.Context, c *pgscale.Cluster) error {
		var n int
		return c.QueryRow(ctx, "SELECT 1").Scan(&n)
	}
	rows := func(ctx context.Context, c *pgscale.Cluster) error {
		r, err := c.Query(ctx, "SELECT generate_series(1, 3)")
		if err != nil {
			return err
		}
		_, err = pgx.CollectRows(r, pgx.RowTo[int32])
		return err
	}
	for name, read := range map[string]func(context.Context, *pgscale.Cluster) error{"QueryRow": row, "Query": rows} {
		t.Run(name, func(t *testing.T) {
			c := open(0) // the default wait, 15 s
			check(t, read(strong, c))
			before := c.Router().Primary().Status().Errors
			proxy.Interrupt()
			done := make(chan error, 1)
			go func() { done <- read(strong, c) }()
			time.Sleep(300 * time.Millisecond) // the outage (not an assertion)
			proxy.SetTarget(primary.Port())
			if err := <-done; err != nil {
				t.Fatalf("a read during a 300 ms outage of the primary: %v", err)
			}
			if c.Router().Primary().Status().Errors == before {
				t.Errorf("the read never failed: the outage did not reach it")
			}
		})
	}
	t.Run("not past the read's deadline", func(t *testing.T) {
		c := open(0)
		proxy.Interrupt()
		defer proxy.SetTarget(primary.Port())
		dctx, cancel := context.WithTimeout(strong, 200*time.Millisecond)
		defer cancel()
		if err := row(dctx, c); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("a read past its deadline without a primary: %v, want the deadline", err)
		}
	})
	t.Run("not past the wait", func(t *testing.T) {
		c := open(200 * time.Millisecond)
		proxy.Interrupt()
		defer proxy.SetTarget(primary.Port())
		var connErr *pgconn.ConnectError
		if err := row(strong, c); !errors.As(err, &connErr) {
			t.Errorf("a read without a primary past the wait: %v, want the connection error", err)
		}
	})
	t.Run("no waiting when told", func(t *testing.T) {
		c := open(-1)
		proxy.Interrupt()
		defer proxy.SetTarget(primary.Port())
		if err := row(strong, c); err == nil {
			t.Errorf("a read without a primary succeeded")
		}
	})
}
