package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to tamper with PostgreSQL

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// stmt is one SQL statement of a tamper, with ? for its parameters.
type stmt struct {
	sql  string
	args []any
}

// testDB is a fresh, migrated database of one dialect, with a database/sql
// handle on it for what the repository does not offer: SQLite's writer, or
// a pool of its own on the same PostgreSQL database.
type testDB struct {
	repo.DB
	dialect repo.Dialect
	raw     *sql.DB
}

func openDB(t *testing.T, d repo.Dialect) testDB {
	t.Helper()
	if d == repo.SQLite {
		db := testdb.Open(t, d)
		return testDB{db, d, db.(*sqliterepo.DB).Writer()}
	}
	url := testdb.PostgresURL(t)
	db, err := strata.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return testDB{db, d, raw}
}

// tamper runs statements the way someone with write access to the database
// could: with the audit table's append-only triggers out of the way. On
// SQLite it drops the triggers and recreates them afterwards; on PostgreSQL
// it switches them off for one transaction with session_replication_role,
// as a superuser can.
func (db testDB) tamper(t *testing.T, statements ...stmt) {
	t.Helper()
	ctx := t.Context()
	var before, after []stmt
	if db.dialect == repo.PostgreSQL {
		before = []stmt{{sql: "SET LOCAL session_replication_role = replica"}}
	} else {
		rows, err := db.raw.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name, create string
			if err := rows.Scan(&name, &create); err != nil {
				t.Fatal(err)
			}
			before, after = append(before, stmt{sql: "DROP TRIGGER " + name}), append(after, stmt{sql: create})
		}
		if err := rows.Err(); err != nil || len(after) == 0 {
			t.Fatalf("audit_events has %d triggers: %v", len(after), err)
		}
	}
	tx, err := db.raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for _, s := range slices.Concat(before, statements, after) {
		if _, err := tx.ExecContext(ctx, s.in(db.dialect), s.args...); err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// scoped returns the statement sql restricted to org's events whose seq
// satisfies cond, e.g. scoped(org, "DELETE FROM audit_events", "> 45").
func scoped(org repo.Org, sql, cond string, args ...any) stmt {
	return stmt{sql + " WHERE org_id = ? AND seq " + cond, append(args, org.ID.String())}
}

// in returns the statement with the parameters of dialect d: ? as written
// for SQLite, $1, $2, ... for PostgreSQL.
func (s stmt) in(d repo.Dialect) string {
	if d == repo.PostgreSQL {
		return numbered(s.sql)
	}
	return s.sql
}

// execRaw runs s on raw, a database/sql handle on a database of dialect d.
func execRaw(ctx context.Context, raw *sql.DB, d repo.Dialect, s stmt) error {
	_, err := raw.ExecContext(ctx, s.in(d), s.args...)
	return err
}

// numbered turns the ? parameters of a statement into PostgreSQL's $1, $2, ...
func numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func createOrg(t testing.TB, db repo.Store, slug string) repo.Org {
	t.Helper()
	org, err := db.Orgs().Create(context.Background(), repo.NewOrg{Slug: slug, Name: slug})
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// recordSamples records n sample events for org, each in its own transaction.
func recordSamples(t testing.TB, db repo.Store, orgID uuid.UUID, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		err := db.InTx(ctx, func(tx repo.Store) error {
			_, err := audit.Record(ctx, tx, sample(orgID, i))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// forged returns an INSERT of an event at seq that links to prev and is
// sealed with audit.Seal: the best forgery an attacker can make. Each
// change edits the event before it is sealed.
func forged(orgID uuid.UUID, seq int64, prev []byte, change ...func(*repo.AuditEvent)) stmt {
	ev := sample(orgID, 0)
	ev.Seq, ev.ID, ev.PrevHash, ev.Metadata = seq, repo.NewID(), prev, "{}"
	for _, f := range change {
		f(&ev)
	}
	ev.Hash = audit.Seal(&ev)
	return stmt{
		sql: `INSERT INTO audit_events (org_id, seq, id, occurred_at, actor_type, actor_id, action,
			target_type, target_id, outcome, metadata, remote_addr, request_id, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		args: []any{ev.OrgID.String(), ev.Seq, ev.ID.String(), ev.OccurredAt.Format(audit.TimeLayout),
			string(ev.ActorType), ev.ActorID, ev.Action, ev.TargetType, ev.TargetID, string(ev.Outcome),
			ev.Metadata, ev.RemoteAddr, ev.RequestID, ev.PrevHash, ev.Hash},
	}
}

// stored returns org's event at seq, read through the repository.
func stored(t *testing.T, db repo.Store, orgID uuid.UUID, seq int64) repo.AuditEvent {
	t.Helper()
	cursor := repo.EncodeCursor("audit_events", strconv.FormatInt(seq-1, 10))
	p, err := db.AuditEvents().List(t.Context(), orgID, repo.AuditFilter{}, repo.PageRequest{Limit: 1, Cursor: cursor})
	if err != nil || len(p.Items) != 1 || p.Items[0].Seq != seq {
		t.Fatalf("event %d: %+v, %v", seq, p.Items, err)
	}
	return p.Items[0]
}

func head(t *testing.T, db repo.Store, orgID uuid.UUID) audit.Checkpoint {
	t.Helper()
	seq, hash, err := db.AuditEvents().Head(t.Context(), orgID)
	if err != nil {
		t.Fatal(err)
	}
	return audit.Checkpoint{Seq: seq, Hash: hash}
}

// TestDatabaseTamper records 50 events on each dialect, checks that they
// verify and export, then tampers with the table directly, triggers
// bypassed, in every way the issue lists, and checks that Verify names the
// first bad sequence number and why.
func TestDatabaseTamper(t *testing.T) {
	const n = 50
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			setup := func(t *testing.T) (testDB, repo.Org) {
				db := openDB(t, d)
				org := createOrg(t, db, "acme")
				recordSamples(t, db, org.ID, n)
				return db, org
			}

			t.Run("intact", func(t *testing.T) {
				db, org := setup(t)
				r, err := audit.Verify(t.Context(), db.AuditEvents(), org.ID, audit.VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				h := head(t, db, org.ID)
				wantOK(t, r, n, h)

				var buf bytes.Buffer
				if _, err := audit.ExportJSONL(t.Context(), &buf, db.AuditEvents(), org.ID, audit.ExportOptions{}); err != nil {
					t.Fatal(err)
				}
				if r, err = audit.VerifyJSONL(t.Context(), &buf, audit.VerifyOptions{Head: &h}); err != nil {
					t.Fatal(err)
				}
				wantOK(t, r, n, h)
			})

			for _, tc := range []struct {
				name       string
				statements func(t *testing.T, db testDB, org repo.Org) []stmt
				seq        int64
				reason     audit.Reason
			}{
				{"changed field", func(t *testing.T, db testDB, org repo.Org) []stmt {
					return []stmt{scoped(org, "UPDATE audit_events SET target_id = 'p-forged'", "= 20")}
				}, 20, audit.ReasonHashMismatch},
				{"changed time", func(t *testing.T, db testDB, org repo.Org) []stmt {
					return []stmt{scoped(org, "UPDATE audit_events SET occurred_at = '2020-01-01T00:00:00.000000Z'", "= 7")}
				}, 7, audit.ReasonHashMismatch},
				{"deleted row", func(t *testing.T, db testDB, org repo.Org) []stmt {
					return []stmt{scoped(org, "DELETE FROM audit_events", "= 20")}
				}, 20, audit.ReasonGap},
				{"swapped rows", func(t *testing.T, db testDB, org repo.Org) []stmt {
					return []stmt{
						scoped(org, "UPDATE audit_events SET seq = 1000", "= 10"),
						scoped(org, "UPDATE audit_events SET seq = 10", "= 30"),
						scoped(org, "UPDATE audit_events SET seq = 30", "= 1000"),
					}
				}, 10, audit.ReasonPrevHashMismatch},
				{"inserted forged row", func(t *testing.T, db testDB, org repo.Org) []stmt {
					return []stmt{
						scoped(org, "UPDATE audit_events SET seq = seq + 1000", ">= 25"),
						scoped(org, "UPDATE audit_events SET seq = seq - 999", ">= 1025"),
						forged(org.ID, 25, stored(t, db, org.ID, 24).Hash),
					}
				}, 26, audit.ReasonPrevHashMismatch},
				{"forged row appended past the head", func(t *testing.T, db testDB, org repo.Org) []stmt {
					return []stmt{forged(org.ID, n+1, stored(t, db, org.ID, n).Hash)}
				}, n + 1, audit.ReasonBeyondHead},
				{"deleted tail", func(t *testing.T, db testDB, org repo.Org) []stmt {
					return []stmt{scoped(org, "DELETE FROM audit_events", "> 45")}
				}, 46, audit.ReasonMissingTail},
				{"rewritten and re-sealed tail", func(t *testing.T, db testDB, org repo.Org) []stmt {
					last := stored(t, db, org.ID, n)
					last.TargetID = "p-forged"
					return []stmt{scoped(org, "UPDATE audit_events SET target_id = 'p-forged', hash = ?", "= "+strconv.Itoa(n), audit.Seal(&last))}
				}, n, audit.ReasonHeadMismatch},
			} {
				t.Run(tc.name, func(t *testing.T) {
					db, org := setup(t)
					db.tamper(t, tc.statements(t, db, org)...)
					r, err := audit.Verify(t.Context(), db.AuditEvents(), org.ID, audit.VerifyOptions{})
					if err != nil {
						t.Fatal(err)
					}
					wantBroken(t, r, tc.seq, tc.reason)
				})
			}

			t.Run("triggers back in place", func(t *testing.T) {
				db, org := setup(t)
				db.tamper(t, scoped(org, "DELETE FROM audit_events", "= 50"))
				for _, s := range []string{"UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"} {
					if _, err := db.raw.ExecContext(t.Context(), s); err == nil || !strings.Contains(err.Error(), "append-only") {
						t.Errorf("%s: err = %v, want the append-only trigger to refuse", s, err)
					}
				}
			})
		})
	}
}

// TestDatabaseConcurrentMutations has 8 goroutines run 25 transactions each
// in two orgs, on each dialect: most create a project and record it, some
// record and then fail (rolled back), some record a denied attempt.
// Afterwards each org's chain is gapless and verifies, and holds exactly one
// event per committed mutation or denial.
func TestDatabaseConcurrentMutations(t *testing.T) {
	const goroutines, each = 8, 25
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db := openDB(t, d)
			ctx := t.Context()
			orgs := []repo.Org{createOrg(t, db, "acme"), createOrg(t, db, "globex")}
			errRollback := errors.New("rolled back on purpose")

			var mu sync.Mutex
			events := map[uuid.UUID]int64{} // committed events per org
			projects := map[uuid.UUID]int{} // committed projects per org
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						org := orgs[(g+i)%len(orgs)]
						ev := repo.AuditEvent{OrgID: org.ID, ActorType: repo.ActorUser, ActorID: fmt.Sprint("u-", g),
							Action: "project.create", TargetType: "project"}
						denied := i%7 == 3
						var err error
						if denied {
							_, err = audit.RecordDenied(ctx, db, ev)
						} else {
							err = db.InTx(ctx, func(tx repo.Store) error {
								p, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: fmt.Sprintf("p-%d-%d", g, i)})
								if err != nil {
									return err
								}
								ev.TargetID = p.ID.String()
								if _, err := audit.Record(ctx, tx, ev); err != nil {
									return err
								}
								if i%5 == 4 {
									return errRollback
								}
								return nil
							})
						}
						mu.Lock()
						switch {
						case err == nil:
							events[org.ID]++
							if !denied {
								projects[org.ID]++
							}
						case !errors.Is(err, errRollback):
							t.Errorf("goroutine %d, transaction %d: %v", g, i, err)
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()

			var total int64
			for _, org := range orgs {
				r, err := audit.Verify(ctx, db.AuditEvents(), org.ID, audit.VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				wantOK(t, r, events[org.ID], head(t, db, org.ID))
				p, err := db.Projects().List(ctx, org.ID, repo.PageRequest{Limit: repo.MaxPageSize})
				if err != nil || len(p.Items) != projects[org.ID] {
					t.Errorf("org %s: %d projects (%v), want %d", org.Slug, len(p.Items), err, projects[org.ID])
				}
				total += r.Events
			}
			// 200 transactions: 32 denials (i%7 == 3) and 32 rolled back
			// (i%5 == 4, not a denial).
			if total != goroutines*each-32 {
				t.Errorf("%d events in all, want %d", total, goroutines*each-32)
			}
		})
	}
}

// openTwins opens two handles on one fresh, migrated database of the
// dialect, as two server processes would (each with its own connections,
// its own cached chain heads and its own leases), and a database/sql handle
// for raw statements.
func openTwins(t *testing.T, d repo.Dialect) (a, b repo.DB, raw *sql.DB) {
	t.Helper()
	url := "sqlite:" + filepath.Join(t.TempDir(), "twins.db")
	if d == repo.PostgreSQL {
		url = testdb.PostgresURL(t)
	}
	open := func() repo.DB {
		db, err := strata.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b = open(), open()
	if d == repo.SQLite {
		if err := strata.Migrate(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		return a, b, a.(*sqliterepo.DB).Writer()
	}
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return a, b, raw
}

// TestDatabaseTwoInstances appends to one org's chain from two handles of
// the same database. First in turns, so that every append after the first
// finds the other instance moved the head since its own last commit (on
// PostgreSQL the database refuses the event sealed against the stale head,
// and the transaction is retried after reading the head); then
// concurrently, 4 goroutines per instance. The chain stays gapless and
// verifies, with one event per committed transaction.
func TestDatabaseTwoInstances(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			a, b, _ := openTwins(t, d)
			ctx := t.Context()
			org := createOrg(t, a, "acme")
			record := func(db repo.DB, i int) error {
				return db.InTx(ctx, func(tx repo.Store) error {
					p, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: fmt.Sprint("p-", i)})
					if err != nil {
						return err
					}
					_, err = audit.Record(ctx, tx, repo.AuditEvent{OrgID: org.ID, ActorType: repo.ActorSystem,
						Action: "project.create", TargetType: "project", TargetID: p.ID.String()})
					return err
				})
			}
			dbs := []repo.DB{a, b}
			for i := range 6 {
				if err := record(dbs[i%2], i); err != nil {
					t.Fatalf("append %d from instance %d: %v", i+1, i%2, err)
				}
				if h := head(t, dbs[(i+1)%2], org.ID); h.Seq != int64(i+1) {
					t.Fatalf("after append %d the other instance sees head %d", i+1, h.Seq)
				}
			}
			const goroutines, each = 8, 20
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						if err := record(dbs[g%2], 100+g*each+i); err != nil {
							t.Errorf("goroutine %d, transaction %d: %v", g, i, err)
						}
					}
				})
			}
			wg.Wait()
			for _, db := range dbs {
				r, err := audit.Verify(ctx, db.AuditEvents(), org.ID, audit.VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				wantOK(t, r, 6+goroutines*each, head(t, db, org.ID))
			}
		})
	}
}

// TestDatabaseRetryReadsHeadUnderLock: on PostgreSQL a transaction whose
// append the guard refused, because another instance moved the head past
// the cached one, runs again reading the head under its row lock. The
// cache is no help then: here, before the second run appends, a peer in
// the same instance commits (filling the cache) and the other instance
// appends again (making it stale). The second run must still succeed.
// SQLite needs no retry: the writer reads a stale head again in the same
// transaction (repo/sqliterepo TestAuditStaleHead).
func TestDatabaseRetryReadsHeadUnderLock(t *testing.T) {
	a, b, _ := openTwins(t, repo.PostgreSQL)
	ctx := t.Context()
	org := createOrg(t, a, "acme")
	recordSamples(t, a, org.ID, 1) // a caches head 1
	recordSamples(t, b, org.ID, 1) // head 2: a's cache is stale
	runs := 0
	err := a.InTx(ctx, func(tx repo.Store) error {
		runs++
		if runs == 2 {
			recordSamples(t, a, org.ID, 1) // a's peer: cache at head 3
			recordSamples(t, b, org.ID, 1) // head 4: stale again
		}
		_, err := audit.Record(ctx, tx, sample(org.ID, 100+runs))
		return err
	})
	if err != nil || runs != 2 {
		t.Fatalf("transaction: %v after %d runs, want success on the second", err, runs)
	}
	r, err := audit.Verify(ctx, a.AuditEvents(), org.ID, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, r, 5, head(t, a, org.ID))
}

// TestDatabaseHeadGuard: the database itself refuses an event that does not
// extend its org's chain head (a wrong sequence number, a wrong previous
// hash, an org without a chain), triggers in place, and accepts, and moves the head to, one that
// does.
func TestDatabaseHeadGuard(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db, _, raw := openTwins(t, d)
			org := createOrg(t, db, "acme")
			recordSamples(t, db, org.ID, 3)
			h := head(t, db, org.ID)
			insert := func(s stmt) error { return execRaw(t.Context(), raw, d, s) }
			for name, s := range map[string]stmt{
				"a gap":              forged(org.ID, h.Seq+2, h.Hash),
				"a taken seq":        forged(org.ID, h.Seq, h.Hash),
				"a wrong prev hash":  forged(org.ID, h.Seq+1, make([]byte, 32)),
				"another org's head": forged(createOrg(t, db, "globex").ID, h.Seq+1, h.Hash),
				// No foreign key to orgs (migration 000004): the guard keeps
				// events of orgs that do not exist out.
				"an unknown org": forged(repo.NewID(), 1, make([]byte, 32)),
			} {
				if err := insert(s); err == nil || !strings.Contains(err.Error(), "chain head") {
					t.Errorf("event with %s: err = %v, want the head guard to refuse it", name, err)
				}
			}
			if got := head(t, db, org.ID); got.Seq != h.Seq || !bytes.Equal(got.Hash, h.Hash) {
				t.Fatalf("refused events moved the head: %+v, was %+v", got, h)
			}
			next := forged(org.ID, h.Seq+1, h.Hash)
			if err := insert(next); err != nil {
				t.Fatalf("event extending the head: %v", err)
			}
			if got := head(t, db, org.ID); got.Seq != h.Seq+1 || !bytes.Equal(got.Hash, next.args[len(next.args)-1].([]byte)) {
				t.Fatalf("head after an accepted event: %+v", got)
			}
			r, err := audit.Verify(t.Context(), db.AuditEvents(), org.ID, audit.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantOK(t, r, 4, head(t, db, org.ID))
		})
	}
}

// TestDatabaseChainSurvivesMigrations records chains, migrates the database
// down to version 2 (past 000004 and 000003, which on SQLite rebuild the
// audit tables) and up again, and checks that every chain still verifies to
// the same head and takes new events.
func TestDatabaseChainSurvivesMigrations(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db, _, _ := openTwins(t, d)
			orgs := []repo.Org{createOrg(t, db, "acme"), createOrg(t, db, "globex")}
			heads := map[uuid.UUID]audit.Checkpoint{}
			for i, org := range orgs {
				recordSamples(t, db, org.ID, 10+i*7)
				heads[org.ID] = head(t, db, org.ID)
			}
			m, err := strata.NewMigrator(db)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			latest, err := migrations.Latest(d)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Down(int(latest) - 2); err != nil {
				t.Fatal(err)
			}
			if v, _, err := m.Version(); err != nil || v != 2 {
				t.Fatalf("version after going down: %d, %v", v, err)
			}
			if err := m.Up(); err != nil {
				t.Fatal(err)
			}
			for i, org := range orgs {
				if got := head(t, db, org.ID); got.Seq != heads[org.ID].Seq || !bytes.Equal(got.Hash, heads[org.ID].Hash) {
					t.Fatalf("head after the migrations: %+v, was %+v", got, heads[org.ID])
				}
				recordSamples(t, db, org.ID, 2)
				r, err := audit.Verify(t.Context(), db.AuditEvents(), org.ID, audit.VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				wantOK(t, r, int64(12+i*7), head(t, db, org.ID))
			}
		})
	}
}

// TestDatabaseEnumChecks: the database itself accepts exactly the actor
// types and outcomes the format allows (migration 000004 rewrote SQLite's
// CHECKs as comparisons), naming the constraint it enforces.
func TestDatabaseEnumChecks(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db, _, raw := openTwins(t, d)
			org := createOrg(t, db, "acme")
			insert := func(actorType repo.ActorType, outcome repo.Outcome) error {
				h := head(t, db, org.ID)
				return execRaw(t.Context(), raw, d, forged(org.ID, h.Seq+1, h.Hash,
					func(ev *repo.AuditEvent) { ev.ActorType, ev.Outcome = actorType, outcome }))
			}
			for _, a := range []repo.ActorType{repo.ActorUser, repo.ActorAPIKey, repo.ActorSystem} {
				for _, o := range []repo.Outcome{repo.OutcomeSuccess, repo.OutcomeDenied} {
					if err := insert(a, o); err != nil {
						t.Errorf("actor type %q, outcome %q: %v", a, o, err)
					}
				}
			}
			for _, c := range []struct {
				actorType  repo.ActorType
				outcome    repo.Outcome
				constraint string
			}{
				{"robot", repo.OutcomeSuccess, "audit_events_actor_type_enum"},
				{"User", repo.OutcomeSuccess, "audit_events_actor_type_enum"},
				{"", repo.OutcomeDenied, "audit_events_actor_type_enum"},
				{repo.ActorUser, "failure", "audit_events_outcome_enum"},
				{repo.ActorSystem, "", "audit_events_outcome_enum"},
			} {
				if err := insert(c.actorType, c.outcome); err == nil || !strings.Contains(err.Error(), c.constraint) {
					t.Errorf("actor type %q, outcome %q: err = %v, want %s to refuse it", c.actorType, c.outcome, err, c.constraint)
				}
			}
			r, err := audit.Verify(t.Context(), db.AuditEvents(), org.ID, audit.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantOK(t, r, 6, head(t, db, org.ID))
		})
	}
}
