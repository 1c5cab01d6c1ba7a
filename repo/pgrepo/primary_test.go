package pgrepo_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/internal/metricstest"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/poll"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
)

// The tests of what a transaction does when the primary cannot serve it:
// each reaches the database through a pgtest.Proxy, which cuts it off,
// moves it, or loses an answer.

// proxied returns a URL of a fresh migrated database through a new proxy
// (with query, e.g. "&application_name=x", appended), the proxy, and the
// server's port, its target.
func proxied(t *testing.T, query string) (string, *pgtest.Proxy, int) {
	t.Helper()
	u, err := url.Parse(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := pgtest.NewProxy(t)
	var port int
	if _, err := fmt.Sscanf(u.Port(), "%d", &port); err != nil {
		t.Fatal(err)
	}
	p.SetTarget(port)
	u.Host = p.Addr()
	return u.String() + query, p, port
}

func openDB(t *testing.T, rawURL string, wait time.Duration) *pgrepo.DB {
	t.Helper()
	db, err := pgrepo.Open(context.Background(), rawURL, pgrepo.Options{PrimaryWait: wait})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// createIn creates a project with a name of its own in every run of the
// transaction: a transaction run twice leaves two projects.
func createIn(ctx context.Context, tx repo.Store, org uuid.UUID) error {
	_, err := tx.Projects().Create(ctx, org, repo.NewProject{Name: "p-" + repo.NewID().String()})
	return err
}

func countProjects(t *testing.T, db repo.DB, org uuid.UUID) int {
	t.Helper()
	page, err := db.Projects().List(context.Background(), org, repo.PageRequest{Limit: repo.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

func TestTransactionWaitsForThePrimary(t *testing.T) {
	ctx := context.Background()
	rawURL, proxy, port := proxied(t, "")
	db := openDB(t, rawURL, 15*time.Second)
	org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	proxy.Interrupt() // no primary: connections drop, new ones are refused
	done := make(chan error, 1)
	go func() { done <- db.InTx(ctx, func(tx repo.Store) error { return createIn(ctx, tx, org.ID) }) }()
	time.Sleep(300 * time.Millisecond) // the outage (not an assertion)
	proxy.SetTarget(port)
	if err := <-done; err != nil {
		t.Fatalf("a transaction during a 300 ms outage: %v", err)
	}
	if n := countProjects(t, db, org.ID); n != 1 {
		t.Errorf("%d projects, want 1", n)
	}

	t.Run("bounded by the caller's deadline", func(t *testing.T) {
		proxy.Interrupt()
		defer proxy.SetTarget(port)
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		err := db.InTx(dctx, func(tx repo.Store) error { return createIn(dctx, tx, org.ID) })
		if !errors.Is(err, repo.ErrUnavailable) {
			t.Errorf("a transaction past its deadline without a primary: %v, want ErrUnavailable", err)
		}
	})
	t.Run("no waiting when told", func(t *testing.T) {
		noWait := openDB(t, rawURL, 0)
		proxy.Interrupt()
		defer proxy.SetTarget(port)
		if err := noWait.InTx(ctx, func(tx repo.Store) error { return createIn(ctx, tx, org.ID) }); !errors.Is(err, repo.ErrUnavailable) {
			t.Errorf("without waiting: %v, want ErrUnavailable at once", err)
		}
	})
}

// createAudited is createIn with its audit event, as the service's
// mutations are.
func createAudited(ctx context.Context, tx repo.Store, org uuid.UUID) error {
	if err := createIn(ctx, tx, org); err != nil {
		return err
	}
	_, err := tx.AuditEvents().Append(ctx, repo.AuditEvent{OrgID: org, ActorType: repo.ActorSystem, ActorID: "strata",
		Action: "project.create", TargetType: "project", Outcome: repo.OutcomeSuccess}, nil)
	return err
}

// zeroHash seals events in tests that do not verify chains.
func zeroHash(*repo.AuditEvent) []byte { return make([]byte, 32) }

// countEvents seals what is pending and returns how many audit events org
// has.
func countEvents(t *testing.T, db repo.DB, org uuid.UUID) int {
	t.Helper()
	if _, err := db.AuditEvents().SealPending(context.Background(), zeroHash); err != nil {
		t.Fatal(err)
	}
	page, err := db.AuditEvents().List(context.Background(), org, repo.AuditFilter{}, repo.PageRequest{Limit: repo.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

// TestCommitOutcomeUnknown loses the answer to a COMMIT that the server
// ran. A transaction that recorded an audit event (as every mutation of the
// service does) is found to have committed, and succeeds; one that did not
// is not run again (that would apply it twice) and fails with
// ErrUnavailable, unless it claimed an idempotency key: then its second run
// finds the first run's record, and does nothing more. A COMMIT lost before
// it reached the server looks the same to the client: the audited
// transaction is found not to have committed, and runs again.
func TestCommitOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	// The exec mode sends each statement's text every time, so that the
	// proxy sees the COMMIT.
	rawURL, proxy, port := proxied(t, "&default_query_exec_mode=exec")
	// pgx sends a cancel request when a connection breaks, which could
	// reach the server before the COMMIT does, and make the first run
	// fail: the tests need it to commit.
	proxy.LoseCancelRequests()
	db := openDB(t, rawURL, 15*time.Second)
	org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}

	cut := proxy.CutAfter([]byte("commit"))
	err = db.InTx(ctx, func(tx repo.Store) error { return createIn(ctx, tx, org.ID) })
	<-cut
	if !errors.Is(err, repo.ErrUnavailable) {
		t.Errorf("a commit whose answer was lost: %v, want ErrUnavailable", err)
	}
	if n := countProjects(t, db, org.ID); n != 1 {
		t.Fatalf("%d projects after a commit whose answer was lost, want 1 (it committed, once)", n)
	}

	key := repo.IdempotencyRecord{IdempotencyKey: repo.IdempotencyKey{OrgID: org.ID, APIKeyID: repo.NewID(), Hash: make([]byte, 32)},
		Fingerprint: make([]byte, 32)}
	var mu sync.Mutex
	var runs, replays int
	cut = proxy.CutAfter([]byte("commit"))
	err = db.InTx(ctx, func(tx repo.Store) error {
		mu.Lock()
		runs++
		mu.Unlock()
		_, claimed, err := tx.IdempotencyKeys().Claim(ctx, key, time.Now().Add(-time.Hour))
		if err != nil {
			return err
		}
		if !claimed {
			mu.Lock()
			replays++
			mu.Unlock()
			return nil
		}
		if err := createIn(ctx, tx, org.ID); err != nil {
			return err
		}
		return tx.IdempotencyKeys().Complete(ctx, key.IdempotencyKey, []byte("done"))
	})
	<-cut
	if err != nil || runs != 2 || replays != 1 {
		t.Errorf("a keyed commit whose answer was lost: %v after %d runs (%d replays); want success on the second run, a replay", err, runs, replays)
	}
	if n := countProjects(t, db, org.ID); n != 2 {
		t.Errorf("%d projects, want 2 (one per transaction)", n)
	}

	// The sealer's statements take arrays, which the exec mode cannot
	// send: events are counted on a direct connection.
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host, u.RawQuery = fmt.Sprintf("127.0.0.1:%d", port), ""
	direct := openDB(t, u.String(), 0)
	for _, c := range []struct {
		name string
		cut  func([]byte) <-chan struct{}
		runs int // the first committed; or it did not, and a second run did
	}{
		{"audited, answer lost", proxy.CutAfter, 1},
		{"audited, commit lost", proxy.CutBefore, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			projects, events := countProjects(t, db, org.ID), countEvents(t, direct, org.ID)
			runs := 0
			cut := c.cut([]byte("commit"))
			err := db.InTx(ctx, func(tx repo.Store) error {
				runs++
				return createAudited(ctx, tx, org.ID)
			})
			<-cut
			if err != nil || runs != c.runs {
				t.Errorf("InTx = %v after %d runs, want success after %d", err, runs, c.runs)
			}
			if n := countProjects(t, db, org.ID) - projects; n != 1 {
				t.Errorf("%d projects more, want 1", n)
			}
			if n := countEvents(t, direct, org.ID) - events; n != 1 {
				t.Errorf("%d audit events more, want 1", n)
			}
		})
	}

	// Each of them is counted: the unaudited one failed, the keyed one and
	// the audited one whose COMMIT was lost ran again, the other audited one
	// was found committed.
	reg := prometheus.NewPedanticRegistry()
	if err := db.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	page := metricstest.Gather(t, reg)
	for _, want := range []string{
		`strata_db_commits_in_doubt_total{resolution="committed"} 1`,
		`strata_db_commits_in_doubt_total{resolution="run_again"} 2`,
		`strata_db_commits_in_doubt_total{resolution="unresolved"} 1`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, page)
		}
	}
}

// TestEventCommitted checks how InTx tells whether an audited transaction
// committed: its event is found queued, and sealed; an event never
// committed is not found, nor one of another org, nor at another time.
func TestEventCommitted(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, testdb.PostgresURL(t), 15*time.Second)
	org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "other", Name: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	var ev repo.AuditEvent
	if err := db.InTx(ctx, func(tx repo.Store) error {
		var err error
		ev, err = tx.AuditEvents().Append(ctx, repo.AuditEvent{OrgID: org.ID, ActorType: repo.ActorSystem, ActorID: "strata",
			Action: "project.create", TargetType: "project", Outcome: repo.OutcomeSuccess}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	check := func(when string, org, id uuid.UUID, at time.Time, want bool) {
		t.Helper()
		got, err := db.EventCommitted(ctx, org, id, at)
		if err != nil || got != want {
			t.Errorf("%s: EventCommitted = %v, %v; want %v", when, got, err, want)
		}
	}
	check("queued", org.ID, ev.ID, ev.OccurredAt, true)
	check("never committed", org.ID, repo.NewID(), ev.OccurredAt, false)
	check("another org's", other.ID, ev.ID, ev.OccurredAt, false)
	rep, err := db.AuditEvents().SealPending(ctx, zeroHash)
	if err != nil || len(rep.Sealed) != 1 {
		t.Fatalf("SealPending = %+v, %v; want the event sealed", rep, err)
	}
	check("sealed", org.ID, ev.ID, ev.OccurredAt, true)
	check("sealed, at another time", org.ID, ev.ID, ev.OccurredAt.Add(time.Hour), false)
	if rep, err := db.AuditEvents().SealPending(ctx, zeroHash); err != nil || len(rep.Sealed) != 0 {
		t.Errorf("SealPending after the checks = %+v, %v; want nothing to seal (the checks leave nothing queued)", rep, err)
	}
}

// TestDemotedPrimaryBehindProxy moves a proxy from a primary to its
// promoted standby after making the old primary refuse writes (as a
// demoted primary does, or pg_auto_failover's draining state), with
// pooled connections open to it: a transaction on one gets 25006, the pool
// drops its connections to the old server, and the transaction runs on
// the new primary.
func TestDemotedPrimaryBehindProxy(t *testing.T) {
	ctx := context.Background()
	oldPrimary := pgtest.NewCluster(t)
	migrated, err := strata.Open(ctx, oldPrimary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if err := strata.Migrate(ctx, migrated); err != nil {
		t.Fatal(err)
	}
	migrated.Close()
	standby := pgtest.NewReplica(t, oldPrimary)
	proxy := pgtest.NewProxy(t)
	proxy.SetTarget(oldPrimary.Port())
	const app = "strata-demotion-test"
	db := openDB(t, proxy.URL("postgres")+"&target_session_attrs=read-write&pool_max_conns=4&application_name="+app, 15*time.Second)
	org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	// Four pooled connections to the old primary.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := db.Pool().Exec(ctx, "SELECT pg_sleep(0.05)"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := standby.WaitForReplay(ctx); err != nil {
		t.Fatal(err)
	}
	admin := func(c *pgtest.Cluster, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	admin(oldPrimary, "ALTER SYSTEM SET default_transaction_read_only = on")
	admin(oldPrimary, "SELECT pg_reload_conf()")
	admin(standby, "SELECT pg_promote()")
	proxy.SetTarget(standby.Port())

	if err := db.InTx(ctx, func(tx repo.Store) error { return createIn(ctx, tx, org.ID) }); err != nil {
		t.Fatalf("a transaction after the move: %v", err)
	}
	if n := countProjects(t, db, org.ID); n != 1 {
		t.Errorf("%d projects, want 1", n)
	}
	// The old primary keeps none of the pool's connections.
	conn, err := pgx.Connect(ctx, oldPrimary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old primary still has %d of the pool's connections", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCommitCutShortInSyncRepWait is what a switchover does to a commit in
// flight: the primary waits for a synchronous standby (here one that never
// answers) when the connection is cut, or when the server terminates the
// backend (a fast shutdown does, with "the transaction has already
// committed locally"). The transaction committed; InTx finds its event and
// succeeds without running it again. In the first case the backend is
// still waiting when InTx asks: the answer waits for it to end.
func TestCommitCutShortInSyncRepWait(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := pgtest.NewClusterWith(t, "synchronous_standby_names=nobody")
	local := c.URL("postgres") + "&synchronous_commit=local" // for what must not wait
	migrated, err := strata.Open(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	if err := strata.Migrate(ctx, migrated); err != nil {
		t.Fatal(err)
	}
	org, err := migrated.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	migrated.Close()
	admin := openDB(t, local, 0)
	proxy := pgtest.NewProxy(t)
	proxy.SetTarget(c.Port())
	proxy.LoseCancelRequests() // else pgx's cancel request ends the wait when the connection breaks
	const app = "strata-syncrep-test"
	// The test clusters commit asynchronously: this client does not.
	db := openDB(t, proxy.URL("postgres")+"&synchronous_commit=on&application_name="+app, 15*time.Second)

	// waiting returns the backends of db waiting for event: SyncRep for
	// the standby, transactionid for another transaction to end.
	waiting := func(event string) []int32 {
		rows, err := admin.Pool().Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event = $2", app, event)
		if err != nil {
			t.Fatal(err)
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return pids
	}
	terminate := func(t *testing.T) {
		var pids []int32
		poll.Until(t, "a commit waiting for the standby", func() bool { pids = waiting("SyncRep"); return len(pids) > 0 })
		for _, pid := range pids {
			if _, err := admin.Pool().Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, cut := range []struct {
		name string
		cut  func(t *testing.T)
	}{
		{"connection cut", func(t *testing.T) {
			poll.Until(t, "a commit waiting for the standby", func() bool { return len(waiting("SyncRep")) > 0 })
			proxy.Interrupt()
			proxy.SetTarget(c.Port())
			poll.Until(t, "InTx's question waiting for the cut transaction", func() bool {
				return len(waiting("transactionid")) > 0
			})
			terminate(t)
		}},
		{"backend terminated", terminate},
	} {
		t.Run(cut.name, func(t *testing.T) {
			projects := countProjects(t, admin, org.ID)
			runs := 0
			done := make(chan error, 1)
			go func() {
				done <- db.InTx(ctx, func(tx repo.Store) error {
					runs++
					return createAudited(ctx, tx, org.ID)
				})
			}()
			cut.cut(t)
			if err := <-done; err != nil || runs != 1 {
				t.Errorf("InTx = %v after %d runs, want success after 1", err, runs)
			}
			if n := countProjects(t, admin, org.ID) - projects; n != 1 {
				t.Errorf("%d projects more, want 1", n)
			}
		})
	}
}
