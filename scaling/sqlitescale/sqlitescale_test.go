package sqlitescale_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"modernc.org/sqlite"

	"github.com/strata-go/strata"
	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/internal/metricstest"
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
	reg := prometheus.NewPedanticRegistry()
	if err := strata.RegisterMetrics(reg, db); err != nil {
		t.Fatal(err)
	}
	page := metricstest.Gather(t, reg)
	for _, want := range []string{
		`strata_db_reads_routed_total{node="reader",region="",role="replica"} 5`,
		`strata_db_pool_max_conns{node="writer",region="",role="primary"} 1`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, page)
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

// The benchmark's workload: a read gets one of accounts projects by ID; a
// write is a read-modify-write transaction on one (the pattern that makes
// deferred transactions fail with SQLITE_BUSY): it reads the project and
// writes back its description, a counter, plus one.
const accounts = 1000

// side is one contender of the benchmark: how it reads and writes the
// project at index i.
type side struct {
	read  func(ctx context.Context, i int) error
	write func(ctx context.Context, i int) error
}

// seedProjects creates an org with accounts projects in the database at
// path, through sqliterepo, and returns the org and the projects' IDs.
func seedProjects(b *testing.B, db *sqliterepo.DB) (uuid.UUID, []uuid.UUID) {
	b.Helper()
	ctx := context.Background()
	if err := strata.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "bench", Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	rows := make([]repo.NewProject, accounts)
	for i := range rows {
		rows[i] = repo.NewProject{Name: fmt.Sprint("p-", i), Description: "0"}
	}
	if _, err := db.Projects().Import(ctx, org.ID, rows); err != nil {
		b.Fatal(err)
	}
	ids := make([]uuid.UUID, 0, accounts)
	for page := (repo.PageRequest{Limit: repo.MaxPageSize}); ; {
		p, err := db.Projects().List(ctx, org.ID, page)
		if err != nil {
			b.Fatal(err)
		}
		for _, pr := range p.Items {
			ids = append(ids, pr.ID)
		}
		if p.Next == "" {
			return org.ID, ids
		}
		page.Cursor = p.Next
	}
}

// increment returns the counter in a description, plus one.
func increment(description string) string {
	n, _ := strconv.Atoi(description)
	return strconv.Itoa(n + 1)
}

// routerSide is a sqliterepo DB, used through the repository: reads go
// through its router to the reader pool, and read-modify-write
// transactions through InTx to the one writer connection (BEGIN IMMEDIATE,
// taken in turn and committed in groups).
func routerSide(b *testing.B) side {
	db, err := sqliterepo.Open(context.Background(), filepath.Join(b.TempDir(), "router.db"), sqliterepo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	org, ids := seedProjects(b, db)
	return side{
		read: func(ctx context.Context, i int) error {
			_, err := db.Projects().Get(ctx, org, ids[i])
			return err
		},
		write: func(ctx context.Context, i int) error {
			return db.InTx(ctx, func(tx repo.Store) error {
				p, err := tx.Projects().Get(ctx, org, ids[i])
				if err != nil {
					return err
				}
				d := increment(p.Description)
				_, err = tx.Projects().Update(ctx, org, ids[i], repo.ProjectUpdate{Description: &d})
				return err
			})
		},
	}
}

// poolSide runs the same SQL (sqlc's queries, prepared) on one default
// database/sql pool (unlimited connections, deferred transactions) over a
// file made the same way, with the same pragmas as sqliterepo's.
func poolSide(b *testing.B) side {
	path := filepath.Join(b.TempDir(), "pool.db")
	setup, err := sqliterepo.Open(context.Background(), path, sqliterepo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	org, ids := seedProjects(b, setup)
	setup.Close()
	// The temporary directory's name has a "%": escape it.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
	db, err := sql.Open("sqlite", u.String()+
		"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	q, err := sqlitedb.Prepare(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	return side{
		read: func(ctx context.Context, i int) error {
			_, err := q.GetProject(ctx, sqlitedb.GetProjectParams{OrgID: org, ID: ids[i]})
			return err
		},
		write: func(ctx context.Context, i int) error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			tq := q.WithTx(tx)
			p, err := tq.GetProject(ctx, sqlitedb.GetProjectParams{OrgID: org, ID: ids[i]})
			if err != nil {
				return err
			}
			d := increment(p.Description)
			_, err = tq.UpdateProject(ctx, sqlitedb.UpdateProjectParams{Description: &d,
				UpdatedAt: time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"), OrgID: org, ID: ids[i]})
			if err != nil {
				return err
			}
			return tx.Commit()
		},
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
				id := rand.IntN(accounts)
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
