package pgrepo_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/internal/benchcmp"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
)

// The statements of db/pg/projects.sql.go, byte for byte, so that the raw
// side shares pgx's per-connection statement cache with the generated code
// and the server does exactly the same work for both sides
// (TestBenchSQLIsGenerated keeps them in step).
const (
	benchGetSQL = `-- name: GetProject :one
SELECT id, org_id, name, description, created_at, updated_at FROM projects WHERE org_id = $1 AND id = $2
`
	benchListSQL = `-- name: ListProjects :many
SELECT id, org_id, name, description, created_at, updated_at FROM projects
WHERE org_id = $1 AND id > $2
ORDER BY id
LIMIT $3
`
	benchCreateSQL = `-- name: CreateProject :one
INSERT INTO projects (id, org_id, name, description, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id, org_id, name, description, created_at, updated_at
`
	benchUpdateSQL = `-- name: UpdateProject :one
UPDATE projects
SET name = coalesce($1, name),
    description = coalesce($2, description),
    updated_at = $3
WHERE org_id = $4 AND id = $5
RETURNING id, org_id, name, description, created_at, updated_at
`
)

func TestBenchSQLIsGenerated(t *testing.T) {
	src, err := os.ReadFile("../../db/pg/projects.sql.go")
	if err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]string{
		"getProject": benchGetSQL, "listProjects": benchListSQL,
		"createProject": benchCreateSQL, "updateProject": benchUpdateSQL,
	} {
		if !strings.Contains(string(src), "const "+name+" = `"+q+"`") {
			t.Errorf("the raw side's %s differs from db/pg/projects.sql.go: copy it again", name)
		}
	}
}

// benchProjects is how many projects the layer benchmarks' org starts with.
const benchProjects = 10_000

// benchPageSize is the page the List benchmark reads.
const benchPageSize = 100

// benchRow is what the hand-written side reads a row into: the same
// fields as repo.Project.
type benchRow struct {
	ID, OrgID         uuid.UUID
	Name, Description string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (p *benchRow) dest() []any {
	return []any{&p.ID, &p.OrgID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt}
}

// benchSeed adds n projects named prefix-1... to org in one statement,
// analyzes the table, and returns their IDs in a fixed order.
func benchSeed(tb testing.TB, pool *pgxpool.Pool, org uuid.UUID, n int, prefix string) []uuid.UUID {
	tb.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
INSERT INTO projects (id, org_id, name, description, created_at, updated_at)
SELECT gen_random_uuid(), $1, $2 || g, 'seeded project number ' || g, now(), now()
FROM generate_series(1, $3::int) AS g`, org, prefix+"-", n)
	if err != nil {
		tb.Fatalf("seed projects: %v", err)
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE projects"); err != nil {
		tb.Fatal(err)
	}
	rows, _ := pool.Query(ctx, "SELECT id FROM projects WHERE org_id = $1 ORDER BY name", org)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil || len(ids) != n {
		tb.Fatalf("read seeded ids: %d of %d, %v", len(ids), n, err)
	}
	return ids
}

// benchOrg creates an org to own the benchmark's projects.
func benchOrg(tb testing.TB, db repo.DB) uuid.UUID {
	tb.Helper()
	org, err := db.Orgs().Create(context.Background(), repo.NewOrg{Slug: "bench", Name: "Bench"})
	if err != nil {
		tb.Fatal(err)
	}
	return org.ID
}

// BenchmarkLayerPostgres compares each repository operation with
// hand-written pgx code running the same statement on the same pool; see
// package internal/benchcmp for how the two sides alternate.
func BenchmarkLayerPostgres(b *testing.B) {
	ctx := context.Background()
	db, err := pgrepo.Open(ctx, testdb.PostgresURL(b), pgrepo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	pool := db.Pool()
	org := benchOrg(b, db)
	ids := benchSeed(b, pool, org, benchProjects, "seed")
	// pick walks ids in a scattered order, the same for both sides.
	pick := func(i int) uuid.UUID { return ids[(i*7919)%len(ids)] }
	descs := make([]string, 64)
	for i := range descs {
		descs[i] = "updated description " + strconv.Itoa(i)
	}
	var sink benchRow

	s := benchcmp.NewSuite("postgres")
	s.Compare(b, "Get",
		func(i int) error {
			p, err := db.Projects().Get(ctx, org, pick(i))
			sink.Name = p.Name
			return err
		},
		func(i int) error {
			var p benchRow
			err := pool.QueryRow(ctx, benchGetSQL, org, pick(i)).Scan(p.dest()...)
			sink.Name = p.Name
			return err
		})

	s.Compare(b, "List100",
		func(int) error {
			page, err := db.Projects().List(ctx, org, repo.PageRequest{Limit: benchPageSize})
			if err == nil && (len(page.Items) != benchPageSize || page.Next == "") {
				err = fmt.Errorf("strata: page of %d, next %q", len(page.Items), page.Next)
			}
			return err
		},
		func(int) error {
			// One row more than the page tells whether there is a next
			// page, as the repository asks for.
			rows, err := pool.Query(ctx, benchListSQL, org, uuid.Nil, int32(benchPageSize+1))
			if err != nil {
				return err
			}
			defer rows.Close()
			var items []benchRow
			for rows.Next() {
				var p benchRow
				if err := rows.Scan(p.dest()...); err != nil {
					return err
				}
				items = append(items, p)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if len(items) != benchPageSize+1 {
				return fmt.Errorf("raw: %d rows", len(items))
			}
			items = items[:benchPageSize]
			sink.Name = items[0].Name
			return nil
		})

	// Each side names its projects from its own counter: names are unique
	// in the org.
	var createdS, createdR int
	s.Compare(b, "Create",
		func(i int) error {
			createdS++
			_, err := db.Projects().Create(ctx, org, repo.NewProject{
				Name: "strata-" + strconv.Itoa(createdS), Description: descs[i%len(descs)],
			})
			return err
		},
		func(i int) error {
			createdR++
			now := time.Now()
			var p benchRow
			return pool.QueryRow(ctx, benchCreateSQL, uuid.Must(uuid.NewV7()), org,
				"raw-"+strconv.Itoa(createdR), descs[i%len(descs)], now, now).Scan(p.dest()...)
		})

	s.Compare(b, "Update",
		func(i int) error {
			_, err := db.Projects().Update(ctx, org, pick(i), repo.ProjectUpdate{Description: &descs[i%len(descs)]})
			return err
		},
		func(i int) error {
			var p benchRow
			return pool.QueryRow(ctx, benchUpdateSQL, (*string)(nil), &descs[i%len(descs)], time.Now(), org, pick(i)).
				Scan(p.dest()...)
		})

	s.Print()
}

// BenchmarkPgbench compares the throughput of Projects.Get from 8
// goroutines with that of `pgbench -S -c 8 -j 2` (a SELECT by primary key
// on pgbench_accounts, 100,000 rows at scale 1) on one dedicated server.
// The two take turns in short rounds, paired and alternating in order
// (pgbench strata, strata pgbench, ...), and the ratio is the median of the
// pairs' ratios, so that load from elsewhere on the machine weighs on both
// alike. It takes about half a minute and so runs only when
// STRATA_BENCH_PGBENCH is set (1, or the length of a round such as 5s).
func BenchmarkPgbench(b *testing.B) {
	round, ok, err := benchcmp.PgbenchRound()
	if err != nil {
		b.Fatal(err)
	}
	if !ok {
		b.Skipf("set %s=1 (or a round length such as 5s) to compare with pgbench -S -c 8", benchcmp.PgbenchEnv)
	}
	const clients, threads, rows, pairs = 8, 2, 100_000, 6
	bin, err := benchcmp.PgbenchPath()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	c := pgtest.NewCluster(b)
	conn := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port()), "-U", "postgres"}
	if _, err := benchcmp.Pgbench(ctx, bin, append(append([]string{"-i", "-s", "1", "-q"}, conn...), "postgres")...); err != nil {
		b.Fatal(err)
	}

	// Our side: a migrated database on the same server, with as many
	// projects as pgbench_accounts has rows, and one connection per client
	// as pgbench has (the pool's default is max(4, CPUs)).
	admin, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	_, err = admin.Exec(ctx, "CREATE DATABASE strata")
	admin.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(c.URL("strata"))
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(clients))
	q.Set("pool_min_conns", strconv.Itoa(clients))
	u.RawQuery = q.Encode()
	db, err := pgrepo.Open(ctx, u.String(), pgrepo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := strata.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	org := benchOrg(b, db)
	ids := benchSeed(b, db.Pool(), org, rows, "p")

	rngs := make([]*rand.Rand, clients)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(uint64(i), 42))
	}
	get := func(ctx context.Context, client, _ int) error {
		_, err := db.Projects().Get(ctx, org, ids[rngs[client].IntN(len(ids))])
		return err
	}
	pgbenchArgs := append(append([]string{"-S", "-n", "-c", strconv.Itoa(clients), "-j", strconv.Itoa(threads),
		"-T", strconv.Itoa(int(round.Seconds()))}, conn...), "postgres")
	runPgbench := func() float64 {
		out, err := benchcmp.Pgbench(ctx, bin, pgbenchArgs...)
		if err != nil {
			b.Fatal(err)
		}
		tps, err := benchcmp.ParseTPS(out)
		if err != nil {
			b.Fatalf("%v:\n%s", err, out)
		}
		return tps
	}
	var load benchcmp.Load
	runStrata := func() float64 {
		l, err := benchcmp.Throughput(ctx, clients, round, get)
		if err != nil {
			b.Fatal(err)
		}
		load.Ops += l.Ops
		load.Elapsed += l.Elapsed
		load.Allocs += l.Allocs
		load.Bytes += l.Bytes
		return l.PerSecond()
	}
	// Warm up: every connection open and its statement prepared; the
	// server's caches hold both tables.
	runPgbench()
	runStrata()
	load = benchcmp.Load{}

	b.ResetTimer()
	var pgTPS, stTPS, ratios []float64
	for p := range pairs {
		var pg, st float64
		if p%2 == 0 {
			pg = runPgbench()
			st = runStrata()
		} else {
			st = runStrata()
			pg = runPgbench()
		}
		pgTPS, stTPS, ratios = append(pgTPS, pg), append(stTPS, st), append(ratios, st/pg)
	}
	b.StopTimer()
	ratio := benchcmp.Median(ratios)
	verdict := "ok"
	if ratio < benchcmp.MinPgbenchRatio {
		verdict = "MISS"
	}
	b.Logf("get-by-ID, %d clients, %d pairs of %s rounds: pgbench -S -c %d -j %d mean %.0f tps %v; strata Projects.Get mean %.0f tps %v",
		clients, pairs, round, clients, threads, benchMean(pgTPS), benchRound(pgTPS), benchMean(stTPS), benchRound(stTPS))
	b.Logf("strata/pgbench throughput ratio %.3f (median of pairs %.2f; target >= %.2f): %s", ratio, ratios, benchcmp.MinPgbenchRatio, verdict)
	b.ReportMetric(0, "ns/op") // the run's length says nothing
	b.ReportMetric(benchMean(pgTPS), "pgbench-tps")
	b.ReportMetric(benchMean(stTPS), "strata-tps")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(load.AllocsPerOp(), "allocs/op")
	b.ReportMetric(float64(load.Bytes)/float64(load.Ops), "B/op")
}

func benchMean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

func benchRound(xs []float64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x + 0.5)
	}
	return out
}
