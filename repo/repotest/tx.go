package repotest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// errFn is an error of a transaction's fn, not of the database.
var errFn = errors.New("repotest: fn failed")

// retryable is the error a serialization failure would give.
func retryable() error {
	return &repo.Error{Kind: repo.ErrConflict, Retryable: true, Message: "repotest: try again"}
}

// createIn creates a project named name in org through s.
func createIn(e *env, s repo.Store, org uuid.UUID, name string) error {
	_, err := s.Projects().Create(e.ctx, org, repo.NewProject{Name: name})
	return err
}

// projectNames returns the names of org's projects.
func (e *env) projectNames(org uuid.UUID) []string {
	e.t.Helper()
	var names []string
	for _, p := range e.projects(org) {
		names = append(names, p.Name)
	}
	return names
}

// wantProjects checks the names of org's projects, in ID order.
func (e *env) wantProjects(org uuid.UUID, names ...string) {
	e.t.Helper()
	same(e.t, "project names", e.projectNames(org), names)
}

// collect gathers the errors of goroutines.
type collect struct {
	mu   sync.Mutex
	errs []error
}

func (c *collect) add(err error) {
	if err != nil {
		c.mu.Lock()
		c.errs = append(c.errs, err)
		c.mu.Unlock()
	}
}

// check fails the test on the first few errors gathered.
func (c *collect) check(e *env) {
	e.t.Helper()
	for i, err := range c.errs {
		if i == 5 {
			e.t.Errorf("... and %d more errors", len(c.errs)-i)
			break
		}
		e.t.Errorf("concurrent transaction: %v", err)
	}
}

func txCases() []testCase {
	return append(retryCases(), []testCase{
		{"Tx/CommitOnNil", func(e *env) {
			org := e.newOrg()
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error {
				if err := createIn(e, tx, org.ID, "one"); err != nil {
					return err
				}
				_, err := tx.Orgs().BumpPolicyVersion(e.ctx, org.ID)
				return err
			}))
			e.wantProjects(org.ID, "one")
			if v := must(e.db.Orgs().PolicyVersion(e.ctx, org.ID)).of(e.t); v != 2 {
				e.t.Errorf("PolicyVersion = %d, want 2", v)
			}
		}},
		{"Tx/RollbackOnError", func(e *env) {
			org := e.newOrg()
			calls := 0
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				calls++
				if err := createIn(e, tx, org.ID, "undone"); err != nil {
					return err
				}
				if _, err := tx.Orgs().BumpPolicyVersion(e.ctx, org.ID); err != nil {
					return err
				}
				return fmt.Errorf("wrapped: %w", errFn)
			})
			if !errors.Is(err, errFn) {
				e.t.Errorf("InTx = %v, want the fn's error", err)
			}
			if calls != 1 {
				e.t.Errorf("fn ran %d times, want 1", calls)
			}
			e.wantProjects(org.ID)
			if v := must(e.db.Orgs().PolicyVersion(e.ctx, org.ID)).of(e.t); v != 1 {
				e.t.Errorf("PolicyVersion = %d, want 1", v)
			}
		}},
		{"Tx/RollbackAfterFailedStatement", func(e *env) {
			org := e.newOrg()
			e.newProject(org.ID)
			existing := e.projectNames(org.ID)
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				if err := createIn(e, tx, org.ID, "fresh"); err != nil {
					return err
				}
				return createIn(e, tx, org.ID, existing[0])
			})
			wantKind(e.t, err, repo.ErrConflict)
			e.wantProjects(org.ID, existing...)
			// The database is usable afterwards.
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error { return createIn(e, tx, org.ID, "fresh") }))
		}},
		{"Tx/RollbackOnPanic", func(e *env) {
			org := e.newOrg()
			const value = "repotest: deliberate panic"
			func() {
				defer func() {
					if r := recover(); r != value {
						e.t.Errorf("recovered %v, want the fn's panic %q", r, value)
					}
				}()
				_ = e.db.InTx(e.ctx, func(tx repo.Store) error {
					if err := createIn(e, tx, org.ID, "undone"); err != nil {
						return err
					}
					panic(value)
				})
				e.t.Errorf("InTx returned although fn panicked")
			}()
			e.wantProjects(org.ID)
			// The transaction's connection was released.
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error { return createIn(e, tx, org.ID, "after") }))
			e.wantProjects(org.ID, "after")
		}},
		{"Tx/NoRetryNonRetryableError", func(e *env) {
			org := e.newOrg()
			for _, fnErr := range []error{repo.Conflict("not retryable"), repo.NotFound("thing"), repo.Invalid("f", "bad"), errFn} {
				attempts := 0
				err := e.db.InTx(e.ctx, func(tx repo.Store) error {
					attempts++
					if err := createIn(e, tx, org.ID, "never"); err != nil {
						return err
					}
					return fnErr
				})
				if !errors.Is(err, fnErr) || attempts != 1 {
					e.t.Errorf("fn returning %v: InTx = %v after %d runs, want that error after 1", fnErr, err, attempts)
				}
			}
			e.wantProjects(org.ID)
		}},
		{"Tx/NestedJoinsOuter", func(e *env) {
			org := e.newOrg()
			inner := 0
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				if err := createIn(e, tx, org.ID, "outer"); err != nil {
					return err
				}
				err := tx.InTx(e.ctx, func(tx2 repo.Store) error {
					inner++
					// The inner fn sees the outer write.
					if _, err := tx2.Projects().List(e.ctx, org.ID, repo.PageRequest{}); err != nil {
						return err
					}
					return createIn(e, tx2, org.ID, "inner")
				})
				if err != nil {
					return err
				}
				// The outer fn sees the inner write.
				p, err := tx.Projects().List(e.ctx, org.ID, repo.PageRequest{})
				if err != nil {
					return err
				}
				if len(p.Items) != 2 {
					return fmt.Errorf("outer fn sees %d projects, want 2", len(p.Items))
				}
				return errFn
			})
			if !errors.Is(err, errFn) {
				e.t.Errorf("InTx = %v, want the outer fn's error", err)
			}
			if inner != 1 {
				e.t.Errorf("inner fn ran %d times, want 1", inner)
			}
			e.wantProjects(org.ID) // the inner write went with the outer rollback
		}},
		{"Tx/NestedCommitsWithOuter", func(e *env) {
			org := e.newOrg()
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error {
				if err := tx.InTx(e.ctx, func(tx2 repo.Store) error { return createIn(e, tx2, org.ID, "inner") }); err != nil {
					return err
				}
				return createIn(e, tx, org.ID, "outer")
			}))
			names := e.projectNames(org.ID)
			if len(names) != 2 {
				e.t.Errorf("projects %v, want inner and outer", names)
			}
		}},
		{"Tx/NestedErrorRollsBackAll", func(e *env) {
			org := e.newOrg()
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				if err := createIn(e, tx, org.ID, "outer"); err != nil {
					return err
				}
				return tx.InTx(e.ctx, func(tx2 repo.Store) error {
					if err := createIn(e, tx2, org.ID, "inner"); err != nil {
						return err
					}
					return errFn
				})
			})
			if !errors.Is(err, errFn) {
				e.t.Errorf("InTx = %v, want the inner fn's error", err)
			}
			e.wantProjects(org.ID)
		}},
		{"Tx/ReadYourWrites", func(e *env) {
			var org repo.Org
			var u repo.User
			var p repo.Project
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error {
				var err error
				if org, err = tx.Orgs().Create(e.ctx, repo.NewOrg{Slug: "in-tx", Name: "In Tx"}); err != nil {
					return err
				}
				if u, err = tx.Users().Create(e.ctx, repo.NewUser{Email: "tx@example.com"}); err != nil {
					return err
				}
				if _, err = tx.Memberships().Add(e.ctx, org.ID, u.ID); err != nil {
					return err
				}
				if p, err = tx.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "in tx"}); err != nil {
					return err
				}
				for what, err := range map[string]error{
					"Orgs.GetBySlug":   second(tx.Orgs().GetBySlug(e.ctx, "in-tx")),
					"Users.GetByEmail": second(tx.Users().GetByEmail(e.ctx, "TX@example.com")),
					"Memberships.Get":  second(tx.Memberships().Get(e.ctx, org.ID, u.ID)),
					"Projects.Get":     second(tx.Projects().Get(e.ctx, org.ID, p.ID)),
				} {
					if err != nil {
						return fmt.Errorf("%s in the tx: %w", what, err)
					}
				}
				if l, err := tx.Orgs().ListForUser(e.ctx, u.ID, repo.PageRequest{}); err != nil || len(l.Items) != 1 {
					return fmt.Errorf("ListForUser in the tx = %v, %v; want the new org", l.Items, err)
				}
				if e.h.ConcurrentWriters {
					// Not committed yet: invisible outside.
					if _, err := e.db.Orgs().GetBySlug(e.ctx, "in-tx"); !errors.Is(err, repo.ErrNotFound) {
						return fmt.Errorf("an uncommitted org read outside its tx: %v, want ErrNotFound", err)
					}
				}
				return nil
			}))
			same(e.t, "project after commit", must(e.db.Projects().Get(e.ctx, org.ID, p.ID)).of(e.t), p)
			same(e.t, "org after commit", must(e.db.Orgs().Get(e.ctx, org.ID)).of(e.t), org)
		}},
		{"Tx/OppositeLockOrder", func(e *env) {
			x, y := e.newOrg(), e.newOrg()
			if e.h.ConcurrentWriters {
				deadlock(e, x.ID, y.ID)
				return
			}
			// One writer: transactions are serialized, so taking rows in
			// opposite orders cannot deadlock; every InTx must succeed.
			const n = 8
			var wg sync.WaitGroup
			var errs collect
			for g := range n {
				first, second := x.ID, y.ID
				if g%2 == 1 {
					first, second = second, first
				}
				wg.Go(func() {
					errs.add(e.db.InTx(e.ctx, func(tx repo.Store) error {
						if _, err := tx.Orgs().BumpPolicyVersion(e.ctx, first); err != nil {
							return err
						}
						_, err := tx.Orgs().BumpPolicyVersion(e.ctx, second)
						return err
					}))
				})
			}
			wg.Wait()
			errs.check(e)
			for _, org := range []uuid.UUID{x.ID, y.ID} {
				if v := must(e.db.Orgs().PolicyVersion(e.ctx, org)).of(e.t); v != 1+n {
					e.t.Errorf("PolicyVersion = %d, want %d", v, 1+n)
				}
			}
		}},
		{"Tx/ConcurrentPolicyBumps", func(e *env) {
			const goroutines, each = 16, 20
			org := e.newOrg()
			var wg sync.WaitGroup
			var errs collect
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						errs.add(e.db.InTx(e.ctx, func(tx repo.Store) error {
							if _, err := tx.Orgs().BumpPolicyVersion(e.ctx, org.ID); err != nil {
								return err
							}
							return createIn(e, tx, org.ID, fmt.Sprintf("g%02d-%02d", g, i))
						}))
					}
				})
			}
			wg.Wait()
			errs.check(e)
			if v := must(e.db.Orgs().PolicyVersion(e.ctx, org.ID)).of(e.t); v != 1+goroutines*each {
				e.t.Errorf("PolicyVersion = %d, want %d", v, 1+goroutines*each)
			}
			names := map[string]bool{}
			for _, name := range e.projectNames(org.ID) {
				names[name] = true
			}
			if len(names) != goroutines*each {
				e.t.Errorf("%d distinct projects, want %d", len(names), goroutines*each)
			}
		}},
	}...)
}

// retryCases have fn fail with a retryable error on its first runs, or
// on every run: InTx must run it again until it succeeds, committing once,
// or give up after a bounded number of runs, committing nothing.
func retryCases() []testCase {
	var cs []testCase
	for _, c := range []struct {
		name  string
		fails int // runs that fail; -1 for all
		wrap  func(error) error
	}{
		{"RetryRetryableError", 2, nil},
		{"RetryWrappedRetryableError", 1, func(err error) error { return fmt.Errorf("service: %w", err) }},
		{"RetryBounded", -1, nil},
	} {
		cs = append(cs, testCase{"Tx/" + c.name, func(e *env) {
			org := e.newOrg()
			attempts := 0
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				attempts++
				// The same name each time: a leftover of an earlier run
				// would be a (non-retryable) conflict.
				if err := createIn(e, tx, org.ID, "retried"); err != nil {
					return err
				}
				if _, err := tx.Orgs().BumpPolicyVersion(e.ctx, org.ID); err != nil {
					return err
				}
				if c.fails >= 0 && attempts > c.fails {
					return nil
				}
				if c.wrap != nil {
					return c.wrap(retryable())
				}
				return retryable()
			})
			version := int64(2)
			if c.fails < 0 {
				wantKind(e.t, err, repo.ErrConflict)
				if attempts < 2 {
					e.t.Errorf("fn ran %d times, want it retried", attempts)
				}
				e.wantProjects(org.ID)
				version = 1
			} else {
				ok(e.t, err)
				if attempts != c.fails+1 {
					e.t.Errorf("fn ran %d times, want %d", attempts, c.fails+1)
				}
				e.wantProjects(org.ID, "retried")
			}
			if v := must(e.db.Orgs().PolicyVersion(e.ctx, org.ID)).of(e.t); v != version {
				e.t.Errorf("PolicyVersion = %d, want %d: not committed exactly once", v, version)
			}
		}})
	}
	return cs
}

// deadlock makes two transactions lock rows x and y in opposite orders,
// each waiting for the other to hold its first row before reaching for its
// second: a real deadlock, which the database breaks by failing one of them.
// InTx must retry that one, and both must commit.
func deadlock(e *env, x, y uuid.UUID) {
	e.t.Helper()
	holding := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	var attempts [2]atomic.Int32
	run := func(me int, first, second uuid.UUID) error {
		return e.db.InTx(e.ctx, func(tx repo.Store) error {
			n := attempts[me].Add(1)
			_, err := tx.Orgs().BumpPolicyVersion(e.ctx, first)
			if n == 1 {
				close(holding[me])
				if err == nil {
					<-holding[1-me]
				}
			}
			if err != nil {
				return err
			}
			_, err = tx.Orgs().BumpPolicyVersion(e.ctx, second)
			return err
		})
	}
	var wg sync.WaitGroup
	var errs collect
	wg.Go(func() { errs.add(run(0, x, y)) })
	wg.Go(func() { errs.add(run(1, y, x)) })
	wg.Wait()
	errs.check(e)
	if total := attempts[0].Load() + attempts[1].Load(); total < 3 {
		e.t.Errorf("the transactions ran %d times in all, want at least 3: no deadlock was detected and retried", total)
	}
	for _, org := range []uuid.UUID{x, y} {
		if v := must(e.db.Orgs().PolicyVersion(e.ctx, org)).of(e.t); v != 3 {
			e.t.Errorf("PolicyVersion = %d, want 3 (each transaction committed once)", v)
		}
	}
}
