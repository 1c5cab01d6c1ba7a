package sqlitescale_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
	"github.com/strata-go/strata/scaling"
	"github.com/strata-go/strata/scaling/sqlitescale"
)

// isBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED (any extended
// code), or a repo error caused by one.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == 5 || code == 6
}

func openRepo(t testing.TB) *sqliterepo.DB {
	t.Helper()
	db, err := sqliterepo.Open(context.Background(), filepath.Join(t.TempDir(), "strata.db"), sqliterepo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := strata.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestMixedLoadNoBusy runs 16 goroutines of repo calls, 10% and 90% of
// them writes (half single statements, half read-modify-write
// transactions), through the router of a file database: nothing fails,
// BUSY least of all, and the reads are routed to the reader pool.
func TestMixedLoadNoBusy(t *testing.T) {
	for _, writePct := range []int{10, 90} {
		t.Run(fmt.Sprintf("writes=%d%%", writePct), func(t *testing.T) {
			db := openRepo(t)
			ctx := t.Context()
			const goroutines, each, orgs = 16, 60, 8
			ids := make([]repo.Org, orgs)
			for i := range ids {
				org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: fmt.Sprintf("org-%d", i), Name: "Org"})
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = org
			}
			var (
				wg          sync.WaitGroup
				reads, busy atomic.Int64
				mu          sync.Mutex
				errs        []error
			)
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						org := ids[(g+i)%orgs]
						var err error
						switch r := rand.IntN(100); {
						case r >= writePct:
							_, err = db.Orgs().Get(ctx, org.ID)
							reads.Add(1)
						case r%2 == 0:
							name := fmt.Sprintf("n-%d-%d", g, i)
							_, err = db.Orgs().Update(ctx, org.ID, repo.OrgUpdate{Name: &name})
						default:
							err = db.InTx(ctx, func(tx repo.Store) error {
								cur, err := tx.Orgs().Get(ctx, org.ID)
								if err != nil {
									return err
								}
								name := cur.Name + "+"
								if len(name) > 60 {
									name = "reset"
								}
								_, err = tx.Orgs().Update(ctx, org.ID, repo.OrgUpdate{Name: &name})
								return err
							})
						}
						if err != nil {
							if isBusy(err) {
								busy.Add(1)
							}
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
					}
				})
			}
			wg.Wait()
			if busy.Load() != 0 || len(errs) != 0 {
				t.Fatalf("%d errors, %d of them BUSY; first: %v", len(errs), busy.Load(), errs[0])
			}
			reader := db.Router().Replicas()[0].Status()
			if reader.Routed < uint64(reads.Load()) || reader.Errors != 0 {
				t.Fatalf("reader node: %+v, want at least %d reads routed and no errors", reader, reads.Load())
			}
		})
	}
}

// TestEveryConsistencyOnTheReaders: the readers see every committed write,
// so strong, causal (even with a token from elsewhere) and bounded reads are
// all served by the reader pool, at once.
func TestEveryConsistencyOnTheReaders(t *testing.T) {
	db := openRepo(t)
	wctx := scaling.WithTokenRecorder(t.Context())
	org, err := db.Orgs().Create(wctx, repo.NewOrg{Slug: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := scaling.TokenFrom(wctx); ok {
		t.Error("a SQLite write recorded a token")
	}
	reader := db.Router().Replicas()[0]
	for _, c := range []scaling.Consistency{
		scaling.Strong(), scaling.Eventual(), scaling.BoundedStaleness(0),
		scaling.Causal(scaling.TokenAt(1 << 62)), scaling.Causal(scaling.PrimaryOnly()),
	} {
		before := reader.Status().Routed
		got, err := db.Orgs().Get(scaling.WithConsistency(t.Context(), c), org.ID)
		if err != nil || got.ID != org.ID {
			t.Fatalf("%v read: %+v, %v", c, got, err)
		}
		if reader.Status().Routed != before+1 {
			t.Errorf("%v read did not go to the readers", c)
		}
	}
	var b strings.Builder
	strata.Metrics(db)(&b)
	for _, want := range []string{
		`strata_db_reads_routed_total{node="reader",role="replica",region=""} 5`,
		`strata_db_pool_max_conns{node="writer",role="primary",region=""} 1`,
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
}

// TestReaderErrorsStayIn: a failed read counts as an error of the reader
// node but never ejects it.
func TestReaderErrorsStayIn(t *testing.T) {
	db := openRepo(t)
	r := sqlitescale.NewReader(db.Router())
	if _, err := r.QueryContext(t.Context(), "SELECT * FROM no_such_table"); err == nil {
		t.Fatal("query of a missing table succeeded")
	}
	var n int
	if err := r.QueryRowContext(t.Context(), "SELECT count(*) FROM orgs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	s := db.Router().Replicas()[0].Status()
	if !s.Up || s.Errors != 1 || s.Ejections != 0 || s.InFlight != 0 {
		t.Fatalf("reader after a failed read: %+v", s)
	}
	if _, err := r.ExecContext(t.Context(), "INSERT INTO no_such_table VALUES (1)"); err == nil {
		t.Fatal("Exec on a missing table succeeded")
	}
}

// The benchmark's schema and workload: a read is a point query, a write a
// read-modify-write transaction (the pattern that makes deferred
// transactions fail with SQLITE_BUSY).
const (
	accounts    = 1000
	benchSchema = `CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)`
)

// side is one contender of the benchmark: how it reads and writes.
type side struct {
	read  func(ctx context.Context, id int) error
	write func(ctx context.Context, id int) error
}

func readBalance(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int) error {
	var v int
	return q.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = ?", id).Scan(&v)
}

// transferStmts are the statements of a transfer, prepared once on a pool:
// both contenders prepare them, as sqliterepo prepares every query on its
// writer, so that the comparison is of the connection layout alone.
type transferStmts struct{ read, write *sql.Stmt }

func prepareTransfer(b *testing.B, db *sql.DB) transferStmts {
	b.Helper()
	ctx := context.Background()
	read, err := db.PrepareContext(ctx, "SELECT balance FROM accounts WHERE id = ?")
	if err != nil {
		b.Fatal(err)
	}
	write, err := db.PrepareContext(ctx, "UPDATE accounts SET balance = ? WHERE id = ?")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { read.Close(); write.Close() })
	return transferStmts{read, write}
}

func transfer(ctx context.Context, db *sql.DB, s transferStmts, id int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v int
	if err := tx.StmtContext(ctx, s.read).QueryRowContext(ctx, id).Scan(&v); err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, s.write).ExecContext(ctx, v+1, id); err != nil {
		return err
	}
	return tx.Commit()
}

func seed(b *testing.B, db *sql.DB) {
	b.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, benchSchema); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, balance)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT i, 0 FROM n`, accounts); err != nil {
		b.Fatal(err)
	}
}

// routerSide is the router of a sqliterepo DB: reads through the router to
// the reader pool, writes on the single writer connection (BEGIN IMMEDIATE).
func routerSide(b *testing.B) side {
	db, err := sqliterepo.Open(context.Background(), filepath.Join(b.TempDir(), "router.db"), sqliterepo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	seed(b, db.Writer())
	stmts := prepareTransfer(b, db.Writer())
	reader := sqlitescale.NewReader(db.Router())
	return side{
		read:  func(ctx context.Context, id int) error { return readBalance(ctx, reader, id) },
		write: func(ctx context.Context, id int) error { return transfer(ctx, db.Writer(), stmts, id) },
	}
}

// poolSide is one default database/sql pool (unlimited connections,
// deferred transactions) on a file with the same pragmas as sqliterepo's.
func poolSide(b *testing.B) side {
	// The temporary directory's name has a "%": escape it.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(b.TempDir(), "pool.db"))}
	db, err := sql.Open("sqlite", u.String()+
		"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	seed(b, db)
	stmts := prepareTransfer(b, db)
	return side{
		read:  func(ctx context.Context, id int) error { return readBalance(ctx, db, id) },
		write: func(ctx context.Context, id int) error { return transfer(ctx, db, stmts, id) },
	}
}

// run does n operations, writePct% of them writes, in 16 goroutines, and
// returns the successful ones per second and the BUSY errors (failed
// operations are not retried and do not count as throughput).
func (s side) run(b *testing.B, n, writePct int) (opsPerSec float64, busy int64) {
	const goroutines = 16
	var next, ok, busyN atomic.Int64
	var other atomic.Pointer[error]
	ctx := context.Background()
	var wg sync.WaitGroup
	start := time.Now()
	for range goroutines {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				id := rand.IntN(accounts) + 1
				var err error
				if rand.IntN(100) < writePct {
					err = s.write(ctx, id)
				} else {
					err = s.read(ctx, id)
				}
				switch {
				case err == nil:
					ok.Add(1)
				case isBusy(err):
					busyN.Add(1)
				default:
					other.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := other.Load(); err != nil {
		b.Fatalf("unexpected error: %v", *err)
	}
	return float64(ok.Load()) / elapsed.Seconds(), busyN.Load()
}

// BenchmarkRouterVsPool runs the same mixed workload at parallel 16 on the
// router (one writer connection with BEGIN IMMEDIATE + N read-only
// connections) and on one default database/sql pool, side by side, and
// reports each one's throughput, their ratio and the BUSY errors of each.
func BenchmarkRouterVsPool(b *testing.B) {
	for _, writePct := range []int{10, 90} {
		b.Run(fmt.Sprintf("writes=%d%%", writePct), func(b *testing.B) {
			router, pool := routerSide(b), poolSide(b)
			b.ResetTimer()
			rOps, rBusy := router.run(b, b.N, writePct)
			pOps, pBusy := pool.run(b, b.N, writePct)
			b.ReportMetric(rOps, "router-ops/s")
			b.ReportMetric(pOps, "pool-ops/s")
			b.ReportMetric(rOps/pOps, "x-throughput")
			b.ReportMetric(float64(rBusy), "router-busy")
			b.ReportMetric(float64(pBusy), "pool-busy")
		})
	}
}
