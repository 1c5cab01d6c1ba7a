package pgscale_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/internal/metricstest"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/poll"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/scaling"
	"github.com/strata-go/strata/scaling/pgscale"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// testConfig probes often and backs off little, so that tests see changes
// fast; the waits in the tests poll with deadlines, never assume a timing.
func testConfig(region string) scaling.Config {
	return scaling.Config{
		Region:          region,
		ProbeInterval:   20 * time.Millisecond,
		ProbeTimeout:    time.Second,
		EjectBackoff:    20 * time.Millisecond,
		MaxEjectBackoff: 200 * time.Millisecond,
		CausalWait:      100 * time.Millisecond,
		MaxConns:        8,
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// servedBy runs a routed read and returns the port of the server that
// answered it.
func servedBy(ctx context.Context, c *pgscale.Cluster) (int, error) {
	var port int
	err := c.QueryRow(ctx, "SELECT inet_server_port()").Scan(&port)
	return port, err
}

// routed returns how many reads the node of c listening on port (or the
// primary, port 0) has been routed.
func routed(t *testing.T, c *pgscale.Cluster, name string) uint64 {
	t.Helper()
	return nodeStatus(t, c, name).Routed
}

func nodeStatus(t *testing.T, c *pgscale.Cluster, name string) scaling.NodeStatus {
	t.Helper()
	for _, n := range c.Router().Nodes() {
		if n.Name() == name {
			return n.Status()
		}
	}
	t.Fatalf("no node %q", name)
	return scaling.NodeStatus{}
}

// nodeName is the router's name for database postgres on 127.0.0.1:port.
func nodeName(port int) string { return fmt.Sprintf("127.0.0.1:%d/postgres", port) }

// metric returns the line of the cluster's metrics that starts with prefix.
func metric(t *testing.T, c *pgscale.Cluster, prefix string) string {
	t.Helper()
	page := metricstest.Collect(t, c.Collector())
	for _, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no metric %q in:\n%s", prefix, page)
	return ""
}

// TestReplication runs against one primary and streaming replicas started
// by pgtest; the subtests run in order and share them.
func TestReplication(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	primary := pgtest.NewCluster(t)
	replica := pgtest.NewReplica(t, primary)
	migrated, err := strata.Open(ctx, primary.URL("postgres"))
	check(t, err)
	check(t, strata.Migrate(ctx, migrated))
	migrated.Close()
	check(t, replica.WaitForReplay(ctx))

	db, err := strata.OpenCluster(ctx, primary.URL("postgres"),
		[]scaling.Replica{{Region: "eu", URL: replica.URL("postgres")}}, testConfig("eu"))
	check(t, err)
	defer db.Close()
	c := db.(*pgrepo.DB).Cluster()
	primaryName, replicaName := nodeName(primary.Port()), nodeName(replica.Port())

	t.Run("ReadsReachReplica", func(t *testing.T) {
		org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "first", Name: "First"})
		check(t, err)
		check(t, replica.WaitForReplay(ctx))
		before := routed(t, c, replicaName)
		for range 20 {
			got, err := db.Orgs().Get(ctx, org.ID)
			check(t, err)
			if got.Slug != "first" {
				t.Fatalf("got %+v", got)
			}
		}
		page, err := db.Orgs().List(ctx, repo.PageRequest{}) // the Query path
		check(t, err)
		if len(page.Items) != 1 {
			t.Fatalf("list: %+v", page)
		}
		if n := routed(t, c, replicaName) - before; n != 21 {
			t.Fatalf("replica served %d of 21 reads", n)
		}
		if n := routed(t, c, primaryName); n != 0 {
			t.Fatalf("primary served %d reads", n)
		}
		if port, err := servedBy(ctx, c); err != nil || port != replica.Port() {
			t.Fatalf("read served by port %d (%v), want the replica's %d", port, err, replica.Port())
		}
		metric(t, c, fmt.Sprintf(`strata_db_reads_routed_total{node="%s",region="eu",role="replica"} `, replicaName))
		reg := prometheus.NewPedanticRegistry()
		check(t, strata.RegisterMetrics(reg, db))
		if page := metricstest.Gather(t, reg); !strings.Contains(page, "strata_db_node_up{") {
			t.Fatalf("strata.RegisterMetrics of a cluster registers no node metrics:\n%s", page)
		}
	})

	t.Run("CausalAndBoundedWhileReplayPaused", func(t *testing.T) {
		check(t, replica.PauseReplay(ctx))
		defer replica.ResumeReplay(context.WithoutCancel(ctx))

		wctx := scaling.WithTokenRecorder(ctx)
		org, err := db.Orgs().Create(wctx, repo.NewOrg{Slug: "paused", Name: "Paused"})
		check(t, err)
		tok, ok := scaling.TokenFrom(wctx)
		if !ok {
			t.Fatal("the write recorded no token")
		}
		tok, err = scaling.ParseToken(tok.String()) // as it comes back from a client
		check(t, err)

		// The replica does not have the write: an eventual read misses it.
		before := routed(t, c, replicaName)
		if _, err := db.Orgs().Get(ctx, org.ID); !errors.Is(err, repo.ErrNotFound) {
			t.Fatalf("eventual read on the paused replica: %v, want not found", err)
		}
		if routed(t, c, replicaName) != before+1 {
			t.Fatal("the eventual read did not go to the replica")
		}

		// A causal read with the token sees it: after the wait, the primary.
		rctx := scaling.WithConsistency(ctx, scaling.Causal(tok))
		primaryBefore := routed(t, c, primaryName)
		got, err := db.Orgs().Get(rctx, org.ID)
		if err != nil || got.ID != org.ID {
			t.Fatalf("causal read: %+v, %v", got, err)
		}
		if routed(t, c, primaryName) != primaryBefore+1 {
			t.Fatal("the causal read did not fall back to the primary")
		}
		if l := metric(t, c, `strata_db_causal_reads_total{outcome="primary"}`); !strings.HasSuffix(l, " 1") {
			t.Fatalf("metric: %s", l)
		}

		// Reads with the recording context see their own write too.
		if _, err := db.Orgs().Get(wctx, org.ID); err != nil {
			t.Fatalf("read after write in the same context: %v", err)
		}

		// A statement without RETURNING (the Exec path) records a token too.
		dctx := scaling.WithTokenRecorder(ctx)
		gone, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "gone", Name: "Gone"})
		check(t, err)
		check(t, db.Orgs().Delete(dctx, gone.ID))
		if delTok, ok := scaling.TokenFrom(dctx); !ok || delTok.Position() <= tok.Position() {
			t.Fatalf("delete token %v (%v), want after %v", delTok.Position(), ok, tok.Position())
		}

		// A transaction records a later token.
		tctx := scaling.WithTokenRecorder(ctx)
		check(t, db.InTx(tctx, func(tx repo.Store) error {
			_, err := tx.Orgs().Create(tctx, repo.NewOrg{Slug: "in-tx", Name: "In Tx"})
			return err
		}))
		txTok, ok := scaling.TokenFrom(tctx)
		if !ok || txTok.Position() <= tok.Position() {
			t.Fatalf("transaction token %v (%v), want after %v", txTok.Position(), ok, tok.Position())
		}

		// Bounded staleness refuses the replica once its data is older than
		// the bound (its replay lag grows while replay is paused).
		const bound = 200 * time.Millisecond
		poll.Until(t, "the replica's staleness to pass the bound", func() bool {
			return nodeStatus(t, c, replicaName).Staleness > bound
		})
		bctx := scaling.WithConsistency(ctx, scaling.BoundedStaleness(bound))
		before, primaryBefore = routed(t, c, replicaName), routed(t, c, primaryName)
		for range 10 {
			if _, err := db.Orgs().Get(bctx, org.ID); err != nil {
				t.Fatalf("bounded read: %v", err)
			}
		}
		if routed(t, c, replicaName) != before || routed(t, c, primaryName) != primaryBefore+10 {
			t.Fatal("bounded-staleness reads went to the lagging replica")
		}
		if s := nodeStatus(t, c, replicaName); !s.Up || s.Lag == 0 {
			t.Fatalf("paused replica status: %+v, want up with replay lag", s)
		}

		// Once replay resumes, causal reads are served by the replica.
		check(t, replica.ResumeReplay(ctx))
		poll.Until(t, "a causal read served by the replica", func() bool {
			before := routed(t, c, replicaName)
			_, err := db.Orgs().Get(rctx, org.ID)
			return err == nil && routed(t, c, replicaName) == before+1
		})
	})

	t.Run("ReplicaKilledUnderLoad", func(t *testing.T) {
		check(t, replica.WaitForReplay(ctx))
		const workers, each = 8, 150
		var (
			done      atomic.Int64
			onReplica atomic.Int64
			onPrimary atomic.Int64
			killed    = make(chan struct{})
			wg        sync.WaitGroup
			mu        sync.Mutex
			errs      []error
		)
		for w := range workers {
			wg.Go(func() {
				for i := range each {
					var err error
					if i%5 == 0 {
						_, err = db.Orgs().List(ctx, repo.PageRequest{Limit: 2}) // the Query path
					} else {
						var port int
						if port, err = servedBy(ctx, c); err == nil && port == replica.Port() {
							onReplica.Add(1)
						} else if err == nil {
							onPrimary.Add(1)
						}
					}
					if err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("worker %d read %d: %w", w, i, err))
						mu.Unlock()
					}
					if done.Add(1) == workers*each/4 {
						replica.Kill()
						close(killed)
					}
				}
			})
		}
		wg.Wait()
		<-killed
		for _, err := range errs {
			t.Error(err)
		}
		if onReplica.Load() == 0 || onPrimary.Load() == 0 {
			t.Errorf("reads: %d on the replica, %d on the primary; want both", onReplica.Load(), onPrimary.Load())
		}
		s := nodeStatus(t, c, replicaName)
		if s.Ejections == 0 || s.Up {
			t.Errorf("killed replica: %+v, want ejected", s)
		}
		t.Logf("%d reads: %d answered by the replica, %d by the primary (plus lists); the replica failed %d reads, which were retried",
			workers*each, onReplica.Load(), onPrimary.Load(), s.Errors)

		// It comes back and is re-admitted.
		check(t, replica.Restart(ctx))
		poll.Until(t, "the restarted replica to serve reads", func() bool {
			port, err := servedBy(ctx, c)
			if err != nil {
				t.Fatalf("read while the replica rejoins: %v", err)
			}
			return port == replica.Port()
		})
	})

	var late *pgtest.Cluster
	lateProxy := pgtest.NewProxy(t)
	parent := t // owns the late replica, which the next subtest uses too
	t.Run("ReplicaStartedLater", func(t *testing.T) {
		// The replica's address answers nothing yet.
		lc, err := pgscale.Open(ctx, primary.URL("postgres"),
			[]scaling.Replica{{Region: "eu", URL: lateProxy.URL("postgres")}}, testConfig("eu"))
		check(t, err)
		defer lc.Close()
		for range 10 {
			port, err := servedBy(ctx, lc)
			if err != nil || port != primary.Port() {
				t.Fatalf("read without replica: port %d, %v; want the primary", port, err)
			}
		}
		late = pgtest.NewReplica(parent, primary)
		lateProxy.SetTarget(late.Port())
		poll.Until(t, "the new replica to serve reads", func() bool {
			port, err := servedBy(ctx, lc)
			check(t, err)
			return port == late.Port()
		})
	})

	t.Run("RegionAndLatency", func(t *testing.T) {
		if late == nil {
			t.Skip("no second replica")
		}
		check(t, late.WaitForReplay(ctx))
		// open routes between the direct replica and the proxied one, in
		// the regions given, from region "eu".
		open := func(directRegion, proxiedRegion string) *pgscale.Cluster {
			c, err := pgscale.Open(ctx, primary.URL("postgres"), []scaling.Replica{
				{Region: directRegion, URL: replica.URL("postgres")},
				{Region: proxiedRegion, URL: lateProxy.URL("postgres")},
			}, testConfig("eu"))
			check(t, err)
			t.Cleanup(c.Close)
			return c
		}

		// Region first: the local replica wins even when it is slower.
		lateProxy.SetDelay(5 * time.Millisecond)
		rc := open("us", "eu")
		for range 10 {
			if port, err := servedBy(ctx, rc); err != nil || port != late.Port() {
				t.Fatalf("read served by port %d (%v), want the local replica %d", port, err, late.Port())
			}
		}

		// Same region: the lower latency wins.
		lateProxy.SetDelay(20 * time.Millisecond)
		lc := open("eu", "eu")
		near, far := lc.Router().Replicas()[0], lc.Router().Replicas()[1]
		poll.Until(t, "the slow replica's latency to show", func() bool {
			n, f := near.Status(), far.Status()
			return n.Up && f.Up && f.Latency > 2*n.Latency+2*scaling.DefaultLatencyTolerance
		})
		for range 30 {
			if port, err := servedBy(ctx, lc); err != nil || port != replica.Port() {
				t.Fatalf("read served by port %d (%v), want the near replica %d", port, err, replica.Port())
			}
		}
		// Without the delay both share the reads again.
		lateProxy.SetDelay(0)
		poll.Until(t, "the formerly slow replica to serve reads", func() bool {
			port, err := servedBy(ctx, lc)
			check(t, err)
			return port == late.Port()
		})
	})
}

// TestFailoverMultiHost follows a promotion with a multi-host primary URL
// and target_session_attrs=read-write, as with an HA manager.
func TestFailoverMultiHost(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	oldPrimary := pgtest.NewCluster(t)
	standby := pgtest.NewReplica(t, oldPrimary)
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/postgres?sslmode=disable&target_session_attrs=read-write",
		standby.Port(), oldPrimary.Port())
	c, err := pgscale.Open(ctx, url, nil, testConfig(""))
	check(t, err)
	defer c.Close()
	if want := fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d/postgres", standby.Port(), oldPrimary.Port()); c.Router().Primary().Name() != want {
		t.Fatalf("primary node name %q, want %q", c.Router().Primary().Name(), want)
	}
	_, err = c.Primary().Exec(ctx, "CREATE TABLE t (x int)")
	check(t, err)
	check(t, standby.WaitForReplay(ctx))

	// The HA manager's part: the primary dies, the standby is promoted.
	oldPrimary.Kill()
	conn, err := pgx.Connect(ctx, standby.URL("postgres"))
	check(t, err)
	_, err = conn.Exec(ctx, "SELECT pg_promote()")
	check(t, err)
	conn.Close(ctx)

	poll.Until(t, "a write to succeed on the new primary", func() bool {
		_, err := c.Primary().Exec(ctx, "INSERT INTO t VALUES (1)")
		return err == nil
	})
	poll.Until(t, "the router to see the new primary", func() bool { return c.Router().Primary().Status().Up })
	tok, err := c.Token(ctx)
	check(t, err)
	if port, err := servedBy(scaling.WithConsistency(ctx, scaling.Causal(tok)), c); err != nil || port != standby.Port() {
		t.Fatalf("causal read after failover: port %d, %v", port, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := strata.OpenCluster(ctx, "postgres://x@127.0.0.1:1/db?sslmode=bogus", nil, scaling.Config{}); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("bad URL: %v, want ErrInvalid", err)
	}
	if _, err := strata.OpenCluster(ctx, "postgres://x@127.0.0.1:1/db", nil, scaling.Config{MaxConns: 1, MinConns: 2}); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("bad config: %v, want ErrInvalid", err)
	}
	if _, err := strata.OpenCluster(ctx, "postgres://x@127.0.0.1:1/db", []scaling.Replica{{URL: "sqlite:x.db"}}, scaling.Config{}); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("sqlite replica: %v, want ErrInvalid", err)
	}
	if _, err := strata.OpenCluster(ctx, "sqlite::memory:", []scaling.Replica{{URL: "postgres://x@h/db"}}, scaling.Config{}); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("sqlite with replicas: %v, want ErrInvalid", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := strata.OpenCluster(cctx, "postgres://x@127.0.0.1:1/db?sslmode=disable", nil, scaling.Config{}); !errors.Is(err, repo.ErrUnavailable) {
		t.Errorf("unreachable primary: %v, want ErrUnavailable", err)
	}
}
