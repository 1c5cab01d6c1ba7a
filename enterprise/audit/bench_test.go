package audit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/repo/sqliterepo"
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
			sealAll(b, db) // as strata serve's sealer would have: the events are old
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
// transaction) with and without its audit event, in alternating rounds, and
// reports both rates and the audited/unaudited ratio (the target: at least
// 0.9 on PostgreSQL, 0.7 on SQLite). A sealer runs throughout, as in a
// server, on the same CPUs, and an audited round ends only once every
// event it recorded is sealed, so that the ratio pays for sealing too; the time from each
// event's commit to its seal is reported (p50, p99, max). It runs one
// writer, eight writers in one org and eight writers in eight orgs, on
// SQLite in memory and in a WAL file (the server's default), on a test
// PostgreSQL cluster (fsync off), on a durable one (fsync on), and on a
// durable primary whose commits wait for a synchronous standby 1 ms away
// each way (postgres-sync: what a highly available deployment runs).
func BenchmarkMutation(b *testing.B) {
	for _, name := range []string{"sqlite", "sqlite-file", "postgres", "postgres-fsync", "postgres-sync"} {
		for _, c := range []struct{ writers, orgs int }{{1, 1}, {8, 1}, {8, 8}} {
			b.Run(fmt.Sprintf("%s/writers=%d/orgs=%d", name, c.writers, c.orgs), func(b *testing.B) {
				benchMutation(b, openBench(b, name), c.writers, c.orgs)
			})
		}
	}
}

// openBench opens a migrated database for BenchmarkMutation: "sqlite" in
// memory, "sqlite-file" in a WAL file, "postgres" on the test cluster, or
// "postgres-sync" on a primary with a synchronous standby (pgtest.NewSyncPair).
func openBench(b *testing.B, name string) repo.DB {
	var url string
	switch name {
	case "sqlite", "postgres":
		return testdb.Open(b, repo.Dialect(name))
	case "sqlite-file":
		url = "sqlite:" + filepath.Join(b.TempDir(), "bench.db")
	case "postgres-fsync":
		url = pgtest.NewClusterWith(b, pgtest.Durable...).URL("postgres")
	case "postgres-sync":
		primary, _ := pgtest.NewSyncPair(b, time.Millisecond)
		url = primary.URL("postgres")
	}
	db, err := strata.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := strata.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	return db
}

// sealWatch runs a sealer on db and measures the time from each event's
// commit to its seal.
type sealWatch struct {
	mu       sync.Mutex
	commits  map[uuid.UUID]time.Time // committed, not yet sealed
	early    map[uuid.UUID]bool      // sealed before their commit was noted
	delays   []time.Duration
	stopSeal func()
}

func watchSeals(db repo.DB) *sealWatch {
	w := &sealWatch{commits: map[uuid.UUID]time.Time{}, early: map[uuid.UUID]bool{}}
	opts := audit.SealerOptions{OnSeal: w.sealed}
	if q, ok := db.(interface{ Queued() <-chan struct{} }); ok {
		opts.Wake = q.Queued()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = audit.NewSealer(db.AuditEvents(), opts).Run(ctx) })
	w.stopSeal = func() { cancel(); wg.Wait() }
	return w
}

// committed notes that ev's transaction committed now (or, should the
// sealer have been quicker than the note, that it was sealed at once).
func (w *sealWatch) committed(ev repo.AuditEvent) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.early[ev.ID] {
		delete(w.early, ev.ID)
		w.delays = append(w.delays, 0)
		return
	}
	w.commits[ev.ID] = time.Now()
}

func (w *sealWatch) sealed(rep repo.SealReport) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ev := range rep.Sealed {
		if at, ok := w.commits[ev.ID]; ok {
			w.delays = append(w.delays, max(rep.SealedAt.Sub(at), 0))
			delete(w.commits, ev.ID)
		} else {
			w.early[ev.ID] = true
		}
	}
}

// sealNow seals what is pending until every event noted committed is
// sealed (some by the background sealer, whose round may hold an org's
// head for a moment: then it tries again).
func (w *sealWatch) sealNow(b *testing.B, db repo.DB) {
	for {
		w.mu.Lock()
		left := len(w.commits)
		w.mu.Unlock()
		if left == 0 {
			return
		}
		rep, err := db.AuditEvents().SealPending(context.Background(), audit.Seal)
		if err != nil {
			b.Fatal(err)
		}
		w.sealed(rep)
		if len(rep.Sealed) == 0 {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

// report reports the percentiles of the commit-to-seal delays.
func (w *sealWatch) report(b *testing.B) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.delays) == 0 {
		return
	}
	slices.Sort(w.delays)
	at := func(q float64) float64 {
		return float64(w.delays[int(q*float64(len(w.delays)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "seal-p50-ms")
	b.ReportMetric(at(0.99), "seal-p99-ms")
	b.ReportMetric(at(1), "seal-max-ms")
}

// benchMutation times rounds of mutations by writers goroutines, writer i
// in org i%orgs, unaudited and audited in turn. A round lasts mutationRound
// (each writer stops at its end) and counts the mutations done in it; an
// audited round then seals what is still pending, and that time counts as
// the round's. Rounds last much longer than the sealer's linger, so that
// sealing runs beside the writers as it does in a server, and only the
// last linger's worth of events is sealed at the round's end.
func benchMutation(b *testing.B, db repo.DB, writers, orgs int) {
	ctx := context.Background()
	watch := watchSeals(db)
	defer watch.stopSeal()
	var next atomic.Int64
	mutate := func(org uuid.UUID, audited bool) error {
		i := next.Add(1)
		var ev repo.AuditEvent
		err := db.InTx(ctx, func(tx repo.Store) error {
			p, err := tx.Projects().Create(ctx, org, repo.NewProject{Name: fmt.Sprint("p-", i)})
			if err != nil || !audited {
				return err
			}
			ev, err = audit.Record(ctx, tx, repo.AuditEvent{
				OrgID: org, ActorType: repo.ActorUser, ActorID: "u-1", Action: "project.create",
				TargetType: "project", TargetID: p.ID.String(), RemoteAddr: "203.0.113.7", RequestID: fmt.Sprint("r-", i),
			})
			return err
		})
		if err == nil && audited {
			watch.committed(ev)
		}
		return err
	}
	ids := make([]uuid.UUID, orgs)
	for i := range ids {
		ids[i] = createOrg(b, db, fmt.Sprint("bench-", i)).ID
	}
	// round returns the mutations done and the time they took.
	round := func(audited bool) (int64, time.Duration) {
		start := time.Now()
		end := start.Add(mutationRound)
		var done atomic.Int64
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for time.Now().Before(end) {
					if err := mutate(ids[w%orgs], audited); err != nil {
						b.Error(err)
						return
					}
					done.Add(1)
				}
			})
		}
		wg.Wait()
		if audited {
			watch.sealNow(b, db)
		}
		return done.Load(), time.Since(start)
	}
	var plainN, auditedN int64
	var plain, audited time.Duration
	for b.Loop() {
		n, d := round(false)
		plainN, plain = plainN+n, plain+d
		n, d = round(true)
		auditedN, audited = auditedN+n, audited+d
	}
	plainRate, auditedRate := float64(plainN)/plain.Seconds(), float64(auditedN)/audited.Seconds()
	b.ReportMetric(plainRate, "unaudited-tx/s")
	b.ReportMetric(auditedRate, "audited-tx/s")
	b.ReportMetric(auditedRate/plainRate, "audited/unaudited")
	watch.report(b)
}

// mutationRound is how long a round of benchMutation lasts: ten times the
// sealer's default linger and more.
const mutationRound = 250 * time.Millisecond

// loadTestEvent is an event of the shape the HTTP load test's writes
// leave: a project created through an API key, with its name and
// description in the metadata.
func loadTestEvent(org uuid.UUID, i int) repo.AuditEvent {
	return repo.AuditEvent{
		OrgID: org, ActorType: repo.ActorUser, ActorID: repo.NewID().String(), APIKeyID: repo.NewID(),
		Action: "project.create", TargetType: "project", TargetID: repo.NewID().String(),
		Metadata:   fmt.Sprintf(`{"after":{"description":"made by the load test","name":"load-1-%d-%d"}}`, i%8, i),
		RemoteAddr: "127.0.0.1", RequestID: rand.Text(),
	}
}

// recordBatches records n events made by event, 1,000 per transaction,
// spread over orgs in turn, with the occurrence times at (nil: now), and
// seals them.
func recordBatches(b testing.TB, db repo.DB, orgs []uuid.UUID, n int, at func(i int) time.Time) {
	ctx := context.Background()
	for start := 0; start < n; start += 1000 {
		err := db.InTx(ctx, func(tx repo.Store) error {
			for i := start; i < min(start+1000, n); i++ {
				ev := loadTestEvent(orgs[i%len(orgs)], i)
				if at != nil {
					ev.OccurredAt = at(i)
				}
				if _, err := audit.Record(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if start%20000 == 0 {
			sealAll(b, db)
		}
	}
	sealAll(b, db)
}

// BenchmarkAuditStorage records 100,000 events of the load test's shape,
// in one org and in eight orgs in turn, and reports the bytes each takes
// in the sealed chain's table and index (the target: at most 300): SQLite
// counts pages with dbstat, PostgreSQL with pg_total_relation_size after a
// VACUUM.
func BenchmarkAuditStorage(b *testing.B) {
	const n = 100_000
	for _, d := range testdb.Dialects {
		for _, orgs := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/orgs=%d", d, orgs), func(b *testing.B) {
				var perEvent float64
				for b.Loop() {
					db := testdb.Open(b, d)
					var ids []uuid.UUID
					for i := range orgs {
						ids = append(ids, createOrg(b, db, fmt.Sprint("org-", i)).ID)
					}
					recordBatches(b, db, ids, n, nil)
					perEvent = float64(storedBytes(b, db)) / n
				}
				b.ReportMetric(perEvent, "bytes/event")
			})
		}
	}
}

// storedBytes returns the bytes the sealed events take: the tables
// audit_events and audit_blocks and their indexes.
func storedBytes(b *testing.B, db repo.DB) int64 {
	ctx := context.Background()
	var n int64
	var err error
	switch d := db.(type) {
	case *sqliterepo.DB:
		err = d.Writer().QueryRowContext(ctx,
			"SELECT sum(pgsize) FROM dbstat WHERE name IN ('audit_events', 'audit_blocks') OR tbl_name IN ('audit_events', 'audit_blocks')").Scan(&n)
		if err != nil { // older dbstat: no tbl_name column
			err = d.Writer().QueryRowContext(ctx, "SELECT sum(pgsize) FROM dbstat WHERE name LIKE '%audit_events%' OR name LIKE '%audit_blocks%'").Scan(&n)
		}
	case *pgrepo.DB:
		if _, err = d.Pool().Exec(ctx, "VACUUM audit_events, audit_blocks"); err == nil {
			err = d.Pool().QueryRow(ctx, "SELECT pg_total_relation_size('audit_events') + pg_total_relation_size('audit_blocks')").Scan(&n)
		}
	}
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkAuditTimeWindow lists a page of an old time window in a chain
// of 200,000 events (one every 30 s for about 70 days): the 50 newest
// events of one hour, 60 days ago, as GET /audit-events?since=&until=
// reads them (the target: at most 5 ms a page).
func BenchmarkAuditTimeWindow(b *testing.B) {
	const n = 200_000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * 30 * time.Second) }
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			db := testdb.Open(b, d)
			org := createOrg(b, db, "acme")
			recordBatches(b, db, []uuid.UUID{org.ID}, n, at)
			since := base.Add(10 * 24 * time.Hour)
			filter := repo.AuditFilter{Since: since, Until: since.Add(time.Hour), Descending: true}
			ctx := context.Background()
			for b.Loop() {
				p, err := db.AuditEvents().List(ctx, org.ID, filter, repo.PageRequest{Limit: 50})
				if err != nil || len(p.Items) != 50 || p.Items[0].OccurredAt.Before(since) {
					b.Fatalf("page: %d events, %v", len(p.Items), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}

// BenchmarkSealLongChain records and seals batches of 100 events (one
// transaction, then a sealer), in turn in a database holding a chain of 100
// events and in one holding a chain of 50,000, and reports the time the
// long chain's batch takes over the short one's (the target: about 1). The
// database checks that each batch extends the end of its chain, and that
// must cost the batch's size, not the chain's or the table's: checks that
// scanned either made this ratio grow with them (4.2 at 50,000 events).
func BenchmarkSealLongChain(b *testing.B) {
	const batch, long = 100, 50_000
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			took := longShort(b, d, batch, long, func(db repo.DB, org uuid.UUID) {
				appendOnly(b, db, org, batch)
				sealAll(b, db)
			})
			b.ReportMetric(float64(took.Microseconds())/float64(b.N*batch), "µs/event")
		})
	}
}

// longShort makes a chain of short events in one database and one of long
// in another, runs op on each in turn for b's loop, and reports the time
// op took on the long chain over the short one's ("long/short"); it
// returns the short one's total.
func longShort(b *testing.B, d repo.Dialect, short, long int, op func(db repo.DB, org uuid.UUID)) time.Duration {
	type chain struct {
		db   repo.DB
		org  uuid.UUID
		took time.Duration
	}
	chains := make([]*chain, 2)
	for i, n := range []int{short, long} {
		db := testdb.Open(b, d)
		c := &chain{db: db, org: createOrg(b, db, "org").ID}
		recordBatches(b, db, []uuid.UUID{c.org}, n, nil)
		chains[i] = c
	}
	for b.Loop() {
		for _, c := range chains {
			start := time.Now()
			op(c.db, c.org)
			c.took += time.Since(start)
		}
	}
	b.ReportMetric(float64(chains[1].took)/float64(chains[0].took), "long/short")
	return chains[0].took
}

// appendOnly records n events of org in one transaction, without sealing.
func appendOnly(b testing.TB, db repo.DB, org uuid.UUID, n int) {
	err := db.InTx(context.Background(), func(tx repo.Store) error {
		for i := range n {
			if _, err := audit.Record(context.Background(), tx, loadTestEvent(org, i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAuditPageLongChain reads the first two pages of the trail, oldest
// first and newest first, of a chain of 1,000 events and of one of 50,000,
// side by side: a page costs its rows, not the chain behind it, so long/short
// stays near 1. (On PostgreSQL a page once joined the chain's head and read
// every event from the cursor to the end of the chain: 7 here.)
func BenchmarkAuditPageLongChain(b *testing.B) {
	const short, long = 1_000, 50_000
	for _, d := range testdb.Dialects {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			longShort(b, d, short, long, func(db repo.DB, org uuid.UUID) {
				for _, desc := range []bool{false, true} {
					req := repo.PageRequest{Limit: repo.MaxPageSize}
					for range 2 {
						page, err := db.AuditEvents().List(ctx, org, repo.AuditFilter{Descending: desc}, req)
						if err != nil || len(page.Items) != repo.MaxPageSize {
							b.Fatalf("page of %d events, %v", len(page.Items), err)
						}
						req.Cursor = page.Next
					}
				}
			})
		})
	}
}
