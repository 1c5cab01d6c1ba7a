package sqliterepo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

// groupOf runs n transactions that all end up in one group: the first holds
// the writer until the n-1 others wait for their turn, then each creates
// project "p-<i>" and ends with member(ctx, tx, org, i)'s error. It returns each
// transaction's error.
func groupOf(t *testing.T, db *sqliterepo.DB, org repo.Org, n int, member func(ctx context.Context, tx repo.Store, org repo.Org, i int) error) []error {
	t.Helper()
	ctx := t.Context()
	errs := make([]error, n)
	started, release := make(chan struct{}), make(chan struct{})
	var start sync.Once // a transaction may run again
	var wg sync.WaitGroup
	run := func(i int) {
		defer func() {
			if r := recover(); r != nil {
				errs[i] = fmt.Errorf("panic: %v", r)
			}
		}()
		errs[i] = db.InTx(ctx, func(tx repo.Store) error {
			if i == 0 {
				start.Do(func() { close(started) })
				<-release
			}
			if _, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: fmt.Sprint("p-", i)}); err != nil {
				return err
			}
			return member(ctx, tx, org, i)
		})
	}
	wg.Go(func() { run(0) })
	<-started
	for i := 1; i < n; i++ {
		wg.Go(func() { run(i) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for sqliterepo.Queued(db) < n-1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", sqliterepo.Queued(db), n-1)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	return errs
}

// projectNames lists org's projects' names, sorted.
func projectNames(t *testing.T, db *sqliterepo.DB, org repo.Org) []string {
	t.Helper()
	var names []string
	for _, p := range listAll(t, func(r repo.PageRequest) (repo.Page[repo.Project], error) {
		return db.Projects().List(t.Context(), org.ID, r)
	}) {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

// errBoom is the error of the members that fail on purpose.
var errBoom = errors.New("boom")

// oneGroup runs n transactions in one group (see groupOf) on a fresh
// database's org "acme", checks that they committed with one COMMIT, with no
// audit append refused against a stale cached head, and returns the
// database, the org and each transaction's error.
func oneGroup(t *testing.T, n int, member func(ctx context.Context, tx repo.Store, org repo.Org, i int) error) (*sqliterepo.DB, repo.Org, []error) {
	t.Helper()
	db := openMigrated(t)
	org := newOrg(t, db, "acme")
	groups, txs := sqliterepo.Commits(db)
	errs := groupOf(t, db, org, n, member)
	if g, m := sqliterepo.Commits(db); g-groups != 1 || m-txs != uint64(n) {
		t.Errorf("%d commits for %d transactions, want 1 for %d", g-groups, m-txs, n)
	}
	if stale := sqliterepo.StaleHeads(db); stale != 0 {
		t.Errorf("%d appends refused against a stale cached head, want none", stale)
	}
	return db, org, errs
}

// wantErrs checks that only transaction fails fails, with want.
func wantErrs(t *testing.T, errs []error, fails int, want error) {
	t.Helper()
	for i, err := range errs {
		if i == fails && !errors.Is(err, want) || i != fails && err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
}

// TestGroupCommit: transactions queued for the writer commit together, one
// COMMIT for all of them, and one that fails rolls back alone.
func TestGroupCommit(t *testing.T) {
	db, org, errs := oneGroup(t, 6, func(_ context.Context, _ repo.Store, _ repo.Org, i int) error {
		if i == 3 {
			return errBoom
		}
		return nil
	})
	wantErrs(t, errs, 3, errBoom)
	if got, want := projectNames(t, db, org), []string{"p-0", "p-1", "p-2", "p-4", "p-5"}; !slices.Equal(got, want) {
		t.Errorf("projects %v, want %v", got, want)
	}
}

// TestGroupCommitFailedGroupRetries: when a member ends the whole group
// transaction (as SQLITE_FULL or an interrupted write would), every member
// of the group runs again, and each commits exactly once.
func TestGroupCommitFailedGroupRetries(t *testing.T) {
	db := openMigrated(t)
	org := newOrg(t, db, "acme")
	var once sync.Once
	errs := groupOf(t, db, org, 6, func(_ context.Context, _ repo.Store, _ repo.Org, i int) error {
		if i == 3 {
			var err error
			once.Do(func() { err = sqliterepo.BreakGroup(db) })
			return err
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	if got, want := projectNames(t, db, org), []string{"p-0", "p-1", "p-2", "p-3", "p-4", "p-5"}; !slices.Equal(got, want) {
		t.Errorf("projects %v, want %v", got, want)
	}
}

// TestGroupCommitPanic: a member that panics rolls back alone, the panic
// goes on to its caller, and the group commits the others.
func TestGroupCommitPanic(t *testing.T) {
	db := openMigrated(t)
	org := newOrg(t, db, "acme")
	errs := groupOf(t, db, org, 5, func(_ context.Context, _ repo.Store, _ repo.Org, i int) error {
		if i == 2 {
			panic("member 2")
		}
		return nil
	})
	for i, err := range errs {
		if (i == 2) != (err != nil) {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	if got, want := projectNames(t, db, org), []string{"p-0", "p-1", "p-3", "p-4"}; !slices.Equal(got, want) {
		t.Errorf("projects %v, want %v", got, want)
	}
}

// TestGroupCommitCanceledWhileQueued: a transaction whose context ends
// while it waits for the writer returns at once, and the others go on.
func TestGroupCommitCanceledWhileQueued(t *testing.T) {
	db := openMigrated(t)
	org := newOrg(t, db, "acme")
	ctx := t.Context()
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- db.InTx(ctx, func(tx repo.Store) error {
			close(started)
			<-release
			_, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "holder"})
			return err
		})
	}()
	<-started
	waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := db.InTx(waitCtx, func(tx repo.Store) error {
		t.Error("a canceled transaction ran")
		return nil
	})
	if !errors.Is(err, repo.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued past its deadline: %v", err)
	}
	if n := sqliterepo.Queued(db); n != 0 {
		t.Errorf("%d still queued", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := db.Projects().Create(ctx, org.ID, repo.NewProject{Name: "after"}); err != nil {
		t.Fatal(err)
	}
	if got, want := projectNames(t, db, org), []string{"after", "holder"}; !slices.Equal(got, want) {
		t.Errorf("projects %v, want %v", got, want)
	}
}
