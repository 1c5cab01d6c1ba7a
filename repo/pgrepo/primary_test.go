package pgrepo_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/internal/pgtest"
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

// TestCommitOutcomeUnknown loses the answer to a COMMIT that the server
// ran. The transaction is not run again (that would apply it twice) and
// fails with ErrUnavailable, unless it claimed an idempotency key: then
// its second run finds the first run's record, and does nothing more.
func TestCommitOutcomeUnknown(t *testing.T) {
	ctx := context.Background()
	// The exec mode sends each statement's text every time, so that the
	// proxy sees the COMMIT.
	rawURL, proxy, _ := proxied(t, "&default_query_exec_mode=exec")
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
