package audit_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
)

// bigChain is the in-memory chain of a million events the verify benchmarks
// share, built once.
var bigChain = sync.OnceValue(func() *memChain { return buildChain(&testing.B{}, 1_000_000) })

// BenchmarkSeal measures the cost of sealing one event (its canonical
// encoding and SHA-256).
func BenchmarkSeal(b *testing.B) {
	ev := sample(repo.NewID(), 1)
	ev.Seq, ev.PrevHash = 1234567, make([]byte, 32)
	b.ReportAllocs()
	for b.Loop() {
		ev.Hash = audit.Seal(&ev)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerify1M verifies a chain of 1,000,000 in-memory events and, side
// by side in the same run, seals the same events, reporting both rates and
// their ratio: how close streaming verification gets to pure hashing.
func BenchmarkVerify1M(b *testing.B) {
	m := bigChain()
	n := int64(len(m.rows))
	var verifying, sealing time.Duration
	for b.Loop() {
		start := time.Now()
		r, err := audit.Verify(context.Background(), m, m.org, audit.VerifyOptions{})
		verifying += time.Since(start)
		if err != nil || !r.OK || r.Events != n {
			b.Fatalf("%+v, %v", r, err)
		}
		start = time.Now()
		for i := range m.rows {
			audit.Seal(&m.rows[i])
		}
		sealing += time.Since(start)
	}
	verifyRate := float64(n*int64(b.N)) / verifying.Seconds()
	sealRate := float64(n*int64(b.N)) / sealing.Seconds()
	b.ReportMetric(verifyRate, "verified-events/s")
	b.ReportMetric(sealRate, "sealed-events/s")
	b.ReportMetric(verifyRate/sealRate, "verify/seal")
}

// BenchmarkExportJSONL1M exports the million-event chain to io.Discard.
func BenchmarkExportJSONL1M(b *testing.B) {
	m := bigChain()
	for b.Loop() {
		if _, err := audit.ExportJSONL(context.Background(), io.Discard, m, m.org, audit.ExportOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(m.rows)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerifyDatabase verifies a chain stored in each dialect: 100,000
// events on SQLite, 20,000 on PostgreSQL.
func BenchmarkVerifyDatabase(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			n := map[repo.Dialect]int{repo.SQLite: 100_000, repo.PostgreSQL: 20_000}[d]
			db := testdb.Open(b, d)
			org := createOrg(b, db, "bench")
			ctx := context.Background()
			for batch := 0; batch < n; batch += 1000 {
				err := db.InTx(ctx, func(tx repo.Store) error {
					for i := range 1000 {
						if _, err := audit.Record(ctx, tx, sample(org.ID, batch+i)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				r, err := audit.Verify(ctx, db.AuditEvents(), org.ID, audit.VerifyOptions{})
				if err != nil || !r.OK || r.Events != int64(n) {
					b.Fatalf("%+v, %v", r, err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkMutation runs the same mutation (create a project in its own
// transaction) with and without its audit event, in alternating rounds, on
// each dialect (SQLite both in memory and in a WAL file, the server's
// default), and reports both rates and the audited/unaudited ratio (the
// issue's target: at least 0.8). It runs one writer, eight writers in one
// org (whose appends serialize on its chain head) and eight writers in
// eight orgs.
func BenchmarkMutation(b *testing.B) {
	for _, name := range []string{"sqlite", "sqlite-file", "postgres"} {
		for _, c := range []struct{ writers, orgs int }{{1, 1}, {8, 1}, {8, 8}} {
			b.Run(fmt.Sprintf("%s/writers=%d/orgs=%d", name, c.writers, c.orgs), func(b *testing.B) {
				benchMutation(b, openBench(b, name), c.writers, c.orgs)
			})
		}
	}
}

// openBench opens a migrated database for BenchmarkMutation: "sqlite" in
// memory, "sqlite-file" in a WAL file, or "postgres".
func openBench(b *testing.B, name string) repo.DB {
	if name != "sqlite-file" {
		return testdb.Open(b, repo.Dialect(name))
	}
	db, err := strata.Open(context.Background(), "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := strata.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	return db
}

// benchMutation times rounds of 16 mutations by each of writers goroutines,
// writer i in org i%orgs, unaudited and audited in turn.
func benchMutation(b *testing.B, db repo.DB, writers, orgs int) {
	const each = 16
	ctx := context.Background()
	var next atomic.Int64
	mutate := func(org uuid.UUID, audited bool) error {
		i := next.Add(1)
		return db.InTx(ctx, func(tx repo.Store) error {
			p, err := tx.Projects().Create(ctx, org, repo.NewProject{Name: fmt.Sprint("p-", i)})
			if err != nil || !audited {
				return err
			}
			_, err = audit.Record(ctx, tx, repo.AuditEvent{
				OrgID: org, ActorType: repo.ActorUser, ActorID: "u-1", Action: "project.create",
				TargetType: "project", TargetID: p.ID.String(), RemoteAddr: "203.0.113.7", RequestID: fmt.Sprint("r-", i),
			})
			return err
		})
	}
	ids := make([]uuid.UUID, orgs)
	for i := range ids {
		ids[i] = createOrg(b, db, fmt.Sprint("bench-", i)).ID
	}
	round := func(audited bool) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for range each {
					if err := mutate(ids[w%orgs], audited); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	var plain, audited time.Duration
	for b.Loop() {
		plain += round(false)
		audited += round(true)
	}
	n := float64(b.N * writers * each)
	b.ReportMetric(n/plain.Seconds(), "unaudited-tx/s")
	b.ReportMetric(n/audited.Seconds(), "audited-tx/s")
	b.ReportMetric(plain.Seconds()/audited.Seconds(), "audited/unaudited")
}
