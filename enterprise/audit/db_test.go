package audit_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to tamper with PostgreSQL

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/internal/auditrow"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// stmt is one SQL statement of a tamper, with ? for its parameters; pg,
// when set, is the statement on PostgreSQL instead.
type stmt struct {
	sql  string
	args []any
	pg   string
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
	return testDB{openURL(t, url), d, openRaw(t, url)}
}

// openURL opens the database url names, closed when the test ends.
func openURL(t *testing.T, url string) repo.DB {
	t.Helper()
	db, err := strata.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openRaw opens a database/sql pool on a PostgreSQL database.
func openRaw(t *testing.T, url string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// tamper runs statements the way someone with write access to the database
// could: with the audit tables' triggers out of the way. On SQLite it drops
// the triggers of audit_events and recreates them afterwards; on PostgreSQL
// it switches triggers off for one transaction with session_replication_role,
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
			t.Fatalf("%s: %v", s.in(db.dialect), err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// inChain is the condition that restricts a statement on audit_events to
// org's chain (a parameter: the org's ID).
const inChain = "chain = (SELECT chain FROM audit_heads WHERE org_id = ?)"

// scoped returns the statement sql restricted to org's events whose seq
// satisfies cond, e.g. scoped(org, "DELETE FROM audit_events", "> 45").
func scoped(org repo.Org, sql, cond string, args ...any) stmt {
	return stmt{sql: sql + " WHERE " + inChain + " AND seq " + cond, args: append(args, org.ID.String())}
}

// in returns the statement in dialect d, with its parameters: ? as written
// for SQLite, $1, $2, ... for PostgreSQL.
func (s stmt) in(d repo.Dialect) string {
	if d == repo.PostgreSQL {
		return numbered(cmpOr(s.pg, s.sql))
	}
	return s.sql
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
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

// sealAll seals every event db has pending, as a sealer would.
func sealAll(t testing.TB, db repo.Store) {
	t.Helper()
	if _, err := audit.NewSealer(db.AuditEvents(), audit.SealerOptions{}).SealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// runSealer runs a sealer on db in the background, woken by db's commits
// (on PostgreSQL), until the returned function stops it and waits for it.
func runSealer(db repo.DB) (stop func()) {
	opts := audit.SealerOptions{Interval: 10 * time.Millisecond, Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	if q, ok := db.(interface{ Queued() <-chan struct{} }); ok {
		opts.Wake = q.Queued()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	sl := audit.NewSealer(db.AuditEvents(), opts)
	wg.Go(func() { _ = sl.Run(ctx) })
	return func() { cancel(); wg.Wait() }
}

// recordSamples records n sample events for org, each in its own
// transaction, and seals them.
func recordSamples(t testing.TB, db repo.Store, orgID uuid.UUID, n int) {
	t.Helper()
	recordUnsealed(t, db, orgID, n)
	sealAll(t, db)
}

// recordUnsealed records n sample events for org without sealing them (on
// PostgreSQL they wait in the queue).
func recordUnsealed(t testing.TB, db repo.Store, orgID uuid.UUID, n int) []repo.AuditEvent {
	t.Helper()
	ctx := context.Background()
	var out []repo.AuditEvent
	for i := range n {
		err := db.InTx(ctx, func(tx repo.Store) error {
			ev, err := audit.Record(ctx, tx, sample(orgID, i))
			out = append(out, ev)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// chainOf returns the number of org's chain.
func chainOf(t *testing.T, db testDB, org uuid.UUID) int64 {
	t.Helper()
	var chain int64
	q := stmt{sql: "SELECT chain FROM audit_heads WHERE org_id = ?"}
	if err := db.raw.QueryRowContext(t.Context(), q.in(db.dialect), org.String()).Scan(&chain); err != nil {
		t.Fatal(err)
	}
	return chain
}

// forged returns an INSERT of an event of org at seq, stored as the
// adapters store events (package auditrow), that links to prev and is
// sealed with audit.Seal: the best forgery an attacker can make. Each
// change edits the event before it is sealed; it returns the event's hash.
func forged(t *testing.T, db testDB, org uuid.UUID, seq int64, prev []byte, change ...func(*repo.AuditEvent)) (stmt, []byte) {
	t.Helper()
	ev := sample(org, 0)
	ev.Seq, ev.ID, ev.PrevHash, ev.Metadata, ev.Format = seq, repo.NewID(), prev, "{}", repo.AuditFormat
	for _, f := range change {
		f(&ev)
	}
	ev.Hash = audit.Seal(&ev)
	var at any = ev.OccurredAt
	if db.dialect == repo.SQLite {
		at = ev.OccurredAt.UnixMicro()
	}
	return stmt{
		sql: `INSERT INTO audit_events (chain, seq, id, occurred_at, format, actor_type, outcome, actor_id,
			target_id, api_key_id, hash, action, target_type, metadata, remote_addr, request_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		args: []any{chainOf(t, db, org), ev.Seq, ev.ID[:], at, ev.Format,
			actorCode(ev.ActorType), outcomeCode(ev.Outcome), auditrow.Ref(ev.ActorID), auditrow.Ref(ev.TargetID),
			auditrow.UUIDRef(ev.APIKeyID), ev.Hash, ev.Action, ev.TargetType, ev.Metadata, ev.RemoteAddr, ev.RequestID},
	}, ev.Hash
}

// actorCode and outcomeCode are the stored codes, or an unknown one.
func actorCode(t repo.ActorType) int16 { return cmpOrInt(auditrow.ActorCode(t), 9) }
func outcomeCode(o repo.Outcome) int16 { return cmpOrInt(auditrow.OutcomeCode(o), 9) }

func cmpOrInt(a, b int16) int16 {
	if a != 0 {
		return a
	}
	return b
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

func verifyDB(t *testing.T, db repo.Store, org uuid.UUID, opts audit.VerifyOptions) audit.Report {
	t.Helper()
	r, err := audit.Verify(t.Context(), db.AuditEvents(), org, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDatabaseTamper records 50 events on each dialect, checks that they
// verify and export, then tampers with the table directly, triggers
// bypassed, in every way the issue lists, and checks that Verify names the
// first bad sequence number and why. The previous hash is not stored (it is
// the previous event's hash), so a moved, inserted or swapped event shows
// as a hash that does not match what precedes it.
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
				h := head(t, db, org.ID)
				wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), n, h)

				var buf bytes.Buffer
				if _, err := audit.ExportJSONL(t.Context(), &buf, db.AuditEvents(), org.ID, audit.ExportOptions{}); err != nil {
					t.Fatal(err)
				}
				r, err := audit.VerifyJSONL(t.Context(), &buf, audit.VerifyOptions{Head: &h})
				if err != nil {
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
					return []stmt{scoped(org, "UPDATE audit_events SET action = 'forged.action'", "= 20")}
				}, 20, audit.ReasonHashMismatch},
				{"changed time", func(t *testing.T, db testDB, org repo.Org) []stmt {
					s := scoped(org, "UPDATE audit_events SET occurred_at = occurred_at + 1000000", "= 7")
					s.pg = strings.Replace(s.sql, "+ 1000000", "+ interval '1 second'", 1)
					return []stmt{s}
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
				}, 10, audit.ReasonHashMismatch},
				{"inserted forged row", func(t *testing.T, db testDB, org repo.Org) []stmt {
					insert, _ := forged(t, db, org.ID, 25, stored(t, db, org.ID, 24).Hash)
					return []stmt{
						scoped(org, "UPDATE audit_events SET seq = seq + 1000", ">= 25"),
						scoped(org, "UPDATE audit_events SET seq = seq - 999", ">= 1025"),
						insert,
					}
				}, 26, audit.ReasonHashMismatch},
				// Past the head, an event is not sealed: one that waits
				// too long (this one claims to be old) fails as unsealed.
				{"forged row appended past the head", func(t *testing.T, db testDB, org repo.Org) []stmt {
					insert, _ := forged(t, db, org.ID, n+1, stored(t, db, org.ID, n).Hash)
					return []stmt{insert}
				}, n + 1, audit.ReasonUnsealed},
				{"deleted tail", func(t *testing.T, db testDB, org repo.Org) []stmt {
					return []stmt{scoped(org, "DELETE FROM audit_events", "> 45")}
				}, 46, audit.ReasonMissingTail},
				{"rewritten and re-sealed tail", func(t *testing.T, db testDB, org repo.Org) []stmt {
					last := stored(t, db, org.ID, n)
					last.Action = "forged.action"
					return []stmt{scoped(org, "UPDATE audit_events SET action = 'forged.action', hash = ?", "= "+strconv.Itoa(n), audit.Seal(&last))}
				}, n, audit.ReasonHeadMismatch},
			} {
				t.Run(tc.name, func(t *testing.T) {
					db, org := setup(t)
					db.tamper(t, tc.statements(t, db, org)...)
					wantBroken(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), tc.seq, tc.reason)
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

// TestDatabaseUnsealed: an event that waits to be sealed longer than
// VerifyOptions.MaxPending (no sealer running: stuck, or stopped) fails
// Verify, which names it, although the sealed chain is intact; once
// sealed, the chain verifies. (On PostgreSQL the event waits in the queue;
// on SQLite it is linked into the chain, past the head.)
func TestDatabaseUnsealed(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db := openDB(t, d)
			org := createOrg(t, db, "acme")
			recordSamples(t, db, org.ID, 3)
			ctx := t.Context()
			old := sample(org.ID, 7)
			old.OccurredAt = time.Now().Add(-2 * time.Hour)
			var ev repo.AuditEvent
			err := db.InTx(ctx, func(tx repo.Store) error {
				var err error
				ev, err = audit.Record(ctx, tx, old)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			r := verifyDB(t, db, org.ID, audit.VerifyOptions{})
			wantBroken(t, r, 4, audit.ReasonUnsealed)
			if r.Events != 3 || r.Backlog.Pending != 1 || r.Backlog.OldestID != ev.ID || !strings.Contains(r.Message, ev.ID.String()) {
				t.Errorf("report %+v does not name the event waiting, %v", r, ev.ID)
			}
			if r := verifyDB(t, db, org.ID, audit.VerifyOptions{MaxPending: 3 * time.Hour}); !r.OK || r.Backlog.Pending != 1 {
				t.Errorf("with a longer bound: %+v, want OK with 1 event waiting", r)
			}
			var buf bytes.Buffer
			if n, err := audit.ExportJSONL(ctx, &buf, db.AuditEvents(), org.ID, audit.ExportOptions{}); err != nil || n != 3 {
				t.Errorf("export: %d events, %v; want the 3 sealed ones, not the one waiting", n, err)
			}
			sealAll(t, db)
			wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), 4, head(t, db, org.ID))
		})
	}
}

// TestDatabasePendingGuard: on PostgreSQL the queue is append-only too: the
// database refuses to update, truncate or delete a pending event, but for
// the sealer's move, which it accepts only when the events leave as the
// last of their chain, in order, with their content unchanged.
func TestDatabasePendingGuard(t *testing.T) {
	db := openDB(t, repo.PostgreSQL)
	org := createOrg(t, db, "acme")
	recordSamples(t, db, org.ID, 2)
	pending := recordUnsealed(t, db, org.ID, 3)
	ctx := t.Context()
	h := head(t, db, org.ID)
	chain := chainOf(t, db, org.ID)
	refused := func(what string, s stmt) {
		t.Helper()
		if err := execRaw(ctx, db.raw, db.dialect, s); err == nil || !strings.Contains(err.Error(), "audit_pending") {
			t.Errorf("%s: err = %v, want the queue's triggers to refuse it", what, err)
		}
	}
	refused("delete", stmt{sql: "DELETE FROM audit_pending"})
	refused("update", stmt{sql: "UPDATE audit_pending SET action = 'x'"})
	refused("truncate", stmt{sql: "TRUNCATE audit_pending"})
	// A move like the sealer's, each refused for one reason.
	move := func(ids []uuid.UUID, firstSeq int64, change string) stmt {
		var seqs []int64
		var hashes [][]byte
		prev := h.Hash
		for i := range ids {
			seqs = append(seqs, firstSeq+int64(i))
			sum := make([]byte, 32)
			copy(sum, prev)
			sum[0]++
			hashes, prev = append(hashes, sum), sum
		}
		return stmt{sql: `WITH s AS (
    SELECT unnest(?::uuid[]) AS id, unnest(?::bigint[]) AS seq, unnest(?::bytea[]) AS hash
), moved AS (
    DELETE FROM audit_pending p USING s WHERE p.org_id = ? AND p.id = s.id RETURNING p.*
)
INSERT INTO audit_events (seq, occurred_at, id, chain, format, actor_type, outcome, actor_id,
    target_id, api_key_id, hash, action, target_type, metadata, remote_addr, request_id)
SELECT s.seq, m.occurred_at, m.id, ?, m.format, m.actor_type, m.outcome, m.actor_id,
    m.target_id, m.api_key_id, s.hash, m.action` + change + `, m.target_type, m.metadata, m.remote_addr, m.request_id
FROM moved m JOIN s ON s.id = m.id`, args: []any{ids, seqs, hashes, org.ID, chain}}
	}
	ids := []uuid.UUID{pending[0].ID, pending[1].ID, pending[2].ID}
	refused("a move that changes the events", move(ids, h.Seq+1, " || '!'"))
	refused("a move out of order", move([]uuid.UUID{ids[1], ids[0], ids[2]}, h.Seq+1, ""))
	if err := execRaw(ctx, db.raw, db.dialect, move(ids, h.Seq+5, "")); err == nil || !strings.Contains(err.Error(), "extend their chain") {
		t.Errorf("a move past a gap: err = %v, want the chain guard to refuse it", err)
	}
	if b, err := db.AuditEvents().Backlog(ctx, org.ID); err != nil || b.Pending != 3 {
		t.Fatalf("backlog %+v, %v: want the 3 events still waiting", b, err)
	}
	sealAll(t, db)
	wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), 5, head(t, db, org.ID))
}

// TestDatabaseConcurrentMutations has 8 goroutines run 25 transactions each
// in two orgs, on each dialect, with a sealer running: most create a
// project and record it, some record and then fail (rolled back), some
// record a denied attempt. Afterwards each org's chain is gapless and
// verifies, and holds exactly one event per committed mutation or denial.
func TestDatabaseConcurrentMutations(t *testing.T) {
	const goroutines, each = 8, 25
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db := openDB(t, d)
			ctx := t.Context()
			orgs := []repo.Org{createOrg(t, db, "acme"), createOrg(t, db, "globex")}
			errRollback := errors.New("rolled back on purpose")
			stop := runSealer(db)

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
			stop() // seals what is still waiting before it returns

			var total int64
			for _, org := range orgs {
				wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), events[org.ID], head(t, db, org.ID))
				p, err := db.Projects().List(ctx, org.ID, repo.PageRequest{Limit: repo.MaxPageSize})
				if err != nil || len(p.Items) != projects[org.ID] {
					t.Errorf("org %s: %d projects (%v), want %d", org.Slug, len(p.Items), err, projects[org.ID])
				}
				total += events[org.ID]
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
// cached chain heads and sealer), and a database/sql handle for raw
// statements.
func openTwins(t *testing.T, d repo.Dialect) (a, b repo.DB, raw *sql.DB, url string) {
	t.Helper()
	url = "sqlite:" + filepath.Join(t.TempDir(), "twins.db")
	if d == repo.PostgreSQL {
		url = testdb.PostgresURL(t)
	}
	a, b = openURL(t, url), openURL(t, url)
	if d == repo.SQLite {
		if err := strata.Migrate(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		return a, b, a.(*sqliterepo.DB).Writer(), url
	}
	return a, b, openRaw(t, url), url
}

// TestDatabaseTwoInstances records to one org's chain from two handles of
// the same database, as two server processes would. First in turns, each
// instance's events sealed by another process (whatever process runs next
// seals what another left: on PostgreSQL the other instance; on SQLite,
// where a process finds other processes' unsealed events when it starts
// and every 10 s after, a process opened for it); then concurrently, 4
// goroutines per instance, each instance running its sealer. The chain
// stays gapless and verifies, with one event per committed transaction.
func TestDatabaseTwoInstances(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			a, b, _, url := openTwins(t, d)
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
					t.Fatalf("record %d from instance %d: %v", i+1, i%2, err)
				}
				other := dbs[(i+1)%2]
				if d == repo.SQLite {
					fresh := openURL(t, url)
					sealAll(t, fresh)
					fresh.Close()
				} else {
					sealAll(t, other)
				}
				if h := head(t, other, org.ID); h.Seq != int64(i+1) {
					t.Fatalf("after record %d, sealed by the other instance, the head is at %d", i+1, h.Seq)
				}
			}
			stopA, stopB := runSealer(a), runSealer(b)
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
			stopA()
			stopB()
			for _, db := range dbs {
				wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), 6+goroutines*each, head(t, db, org.ID))
			}
		})
	}
}

// TestDatabaseSealersSkipLockedOrgs: on PostgreSQL at most one process seals
// an org at a time. While another transaction holds an org's head (a
// sealer of another process, mid-batch), SealPending seals the other orgs
// and leaves that one alone; once the head is free, it seals it.
func TestDatabaseSealersSkipLockedOrgs(t *testing.T) {
	db := openDB(t, repo.PostgreSQL)
	ctx := t.Context()
	busy, free := createOrg(t, db, "busy"), createOrg(t, db, "free")
	recordUnsealed(t, db, busy.ID, 2)
	recordUnsealed(t, db, free.ID, 3)
	other, err := db.raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.ExecContext(ctx, "SELECT 1 FROM audit_heads WHERE org_id = $1 FOR NO KEY UPDATE", busy.ID); err != nil {
		t.Fatal(err)
	}
	rep, err := db.AuditEvents().SealPending(ctx, audit.Seal)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range rep.Sealed {
		if ev.OrgID != free.ID {
			t.Errorf("sealed %+v of an org another sealer holds", ev)
		}
	}
	if len(rep.Sealed) != 3 || head(t, db, busy.ID).Seq != 0 || head(t, db, free.ID).Seq != 3 {
		t.Fatalf("sealed %d events; heads busy %d, free %d: want the free org's 3 alone",
			len(rep.Sealed), head(t, db, busy.ID).Seq, head(t, db, free.ID).Seq)
	}
	if err := other.Rollback(); err != nil {
		t.Fatal(err)
	}
	sealAll(t, db)
	wantOK(t, verifyDB(t, db, busy.ID, audit.VerifyOptions{}), 2, head(t, db, busy.ID))
	wantOK(t, verifyDB(t, db, free.ID, audit.VerifyOptions{}), 3, head(t, db, free.ID))
}

// TestDatabaseSealFailsWhole: a batch whose sealing fails part way (here
// the sealer returns a malformed hash for the third event) seals nothing:
// its transaction rolls back, every event waits, the head stays. A sealer
// killed mid-batch leaves the same (TestCrashLosesNoAcknowledgedWrite
// kills the whole server).
func TestDatabaseSealFailsWhole(t *testing.T) {
	db := openDB(t, repo.PostgreSQL)
	ctx := t.Context()
	org := createOrg(t, db, "acme")
	recordSamples(t, db, org.ID, 2)
	before := head(t, db, org.ID)
	recordUnsealed(t, db, org.ID, 5)
	calls := 0
	_, err := db.AuditEvents().SealPending(ctx, func(ev *repo.AuditEvent) []byte {
		if calls++; calls == 3 {
			return []byte("not a hash")
		}
		return audit.Seal(ev)
	})
	if repo.KindOf(err) != repo.ErrInvalid {
		t.Fatalf("SealPending = %v, want the malformed hash refused", err)
	}
	if h := head(t, db, org.ID); h.Seq != before.Seq || !bytes.Equal(h.Hash, before.Hash) {
		t.Errorf("head %+v, want it unmoved at %+v", h, before)
	}
	if b, err := db.AuditEvents().Backlog(ctx, org.ID); err != nil || b.Pending != 5 {
		t.Errorf("backlog %+v, %v: want all 5 events waiting", b, err)
	}
	sealAll(t, db)
	wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), 7, head(t, db, org.ID))
}

// TestDatabaseGuards: the database itself keeps chains whole, triggers in
// place: it refuses an event at a sequence number its chain holds (the
// primary key) or past a gap (the chain guard), and a head that moves
// back, to an event the chain does not hold, or with another hash; it
// accepts an event that extends the chain, and the head moved to it.
func TestDatabaseGuards(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db := openDB(t, d)
			ctx := t.Context()
			org := createOrg(t, db, "acme")
			recordSamples(t, db, org.ID, 3)
			h := head(t, db, org.ID)
			for name, seq := range map[string]int64{"a taken seq": h.Seq, "a gap": h.Seq + 2} {
				s, _ := forged(t, db, org.ID, seq, h.Hash)
				if err := execRaw(ctx, db.raw, d, s); err == nil {
					t.Errorf("event with %s: accepted, want it refused", name)
				}
			}
			moveHead := func(seq int64, hash []byte) error {
				return execRaw(ctx, db.raw, d, stmt{sql: "UPDATE audit_heads SET seq = ?, hash = ? WHERE org_id = ?",
					args: []any{seq, hash, org.ID.String()}})
			}
			for name, to := range map[string]audit.Checkpoint{
				"back":           {Seq: h.Seq - 1, Hash: stored(t, db, org.ID, h.Seq-1).Hash},
				"past the chain": {Seq: h.Seq + 1, Hash: h.Hash},
				"another hash":   {Seq: h.Seq, Hash: make([]byte, 32)},
			} {
				if err := moveHead(to.Seq, to.Hash); err == nil || !strings.Contains(err.Error(), "audit") {
					t.Errorf("head moved %s: err = %v, want the head guard to refuse it", name, err)
				}
			}
			if got := head(t, db, org.ID); got.Seq != h.Seq || !bytes.Equal(got.Hash, h.Hash) {
				t.Fatalf("refused changes moved the head: %+v, was %+v", got, h)
			}
			next, hash := forged(t, db, org.ID, h.Seq+1, h.Hash)
			if err := execRaw(ctx, db.raw, d, next); err != nil {
				t.Fatalf("event extending the chain: %v", err)
			}
			if err := moveHead(h.Seq+1, hash); err != nil {
				t.Fatalf("head moved to the new event: %v", err)
			}
			wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), 4, head(t, db, org.ID))
		})
	}
}

// TestDatabaseChainSurvivesMigrations records chains, migrates the database
// down to version 2 (past 000005, 000004 and 000003, which on SQLite
// rebuild the audit tables) and up again, and checks that every chain
// still verifies to the same head and takes new events. On PostgreSQL the
// way down refuses to leave events unsealed.
func TestDatabaseChainSurvivesMigrations(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db, _, _, _ := openTwins(t, d)
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
			if d == repo.PostgreSQL {
				// Down to 000005, the queue's migration, which refuses to
				// go further while an event waits in the queue.
				const queue = 5
				if err := m.Down(int(latest) - queue); err != nil {
					t.Fatal(err)
				}
				recordUnsealed(t, db, orgs[0].ID, 1)
				if err := m.Down(1); err == nil || !strings.Contains(err.Error(), "not yet sealed") {
					t.Fatalf("down with an event waiting: %v, want it refused", err)
				}
				if err := m.Force(queue); err != nil {
					t.Fatal(err)
				}
				sealAll(t, db)
				heads[orgs[0].ID] = head(t, db, orgs[0].ID)
			}
			if v, _, err := m.Version(); err != nil {
				t.Fatal(err)
			} else if err := m.Down(int(v) - 2); err != nil {
				t.Fatal(err)
			}
			if v, _, err := m.Version(); err != nil || v != 2 {
				t.Fatalf("version after going down: %d, %v", v, err)
			}
			if err := m.Up(); err != nil {
				t.Fatal(err)
			}
			for _, org := range orgs {
				if got := head(t, db, org.ID); got.Seq != heads[org.ID].Seq || !bytes.Equal(got.Hash, heads[org.ID].Hash) {
					t.Fatalf("head after the migrations: %+v, was %+v", got, heads[org.ID])
				}
				recordSamples(t, db, org.ID, 2)
				wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), heads[org.ID].Seq+2, head(t, db, org.ID))
			}
		})
	}
}

// TestDatabaseUpgradeFromV4: databases made by the binary of migration
// 000004 (testdata: a SQLite file, and a pg_dump of a PostgreSQL database;
// both served the README's walk-through, then bootstrapped a second org)
// migrate to the latest version with their chains intact, to the same
// heads, and go on: a new event verifies in the database and in an export,
// beside the old ones (format 1 before, format 2 after).
func TestDatabaseUpgradeFromV4(t *testing.T) {
	want := map[repo.Dialect]map[string]int64{
		repo.SQLite:     {"acme": 11, "globex": 1},
		repo.PostgreSQL: {"acme": 11, "globex": 1},
	}
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			var db repo.DB
			if d == repo.SQLite {
				file := filepath.Join(t.TempDir(), "v4.db")
				b, err := os.ReadFile("testdata/sqlite-v4.db")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, b, 0o600); err != nil {
					t.Fatal(err)
				}
				db = openURL(t, "sqlite:"+file)
			} else {
				url := pgtest.NewDatabase(t, pgtest.Template{})
				dump, err := os.ReadFile("testdata/postgres-v4.sql")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := openRaw(t, url).ExecContext(ctx, string(dump)); err != nil {
					t.Fatal(err)
				}
				db = openURL(t, url)
			}
			type before struct {
				org  repo.Org
				head audit.Checkpoint
			}
			var orgs []before
			for slug := range want[d] {
				org, err := db.Orgs().GetBySlug(ctx, slug)
				if err != nil {
					t.Fatal(err)
				}
				orgs = append(orgs, before{org, head(t, db, org.ID)})
			}
			if err := strata.Migrate(ctx, db); err != nil {
				t.Fatal(err)
			}
			for _, o := range orgs {
				n := want[d][o.org.Slug]
				if got := head(t, db, o.org.ID); got.Seq != n || !bytes.Equal(got.Hash, o.head.Hash) || o.head.Seq != n {
					t.Fatalf("%s: head %+v after the migration, %+v before; want seq %d", o.org.Slug, got, o.head, n)
				}
				wantOK(t, verifyDB(t, db, o.org.ID, audit.VerifyOptions{}), n, o.head)
				recordSamples(t, db, o.org.ID, 1)
				h := head(t, db, o.org.ID)
				wantOK(t, verifyDB(t, db, o.org.ID, audit.VerifyOptions{}), n+1, h)
				if first, last := stored(t, db, o.org.ID, 1), stored(t, db, o.org.ID, n+1); first.Format != 1 || last.Format != repo.AuditFormat {
					t.Errorf("%s: formats %d and %d, want 1 for the old events and %d for the new", o.org.Slug, first.Format, last.Format, repo.AuditFormat)
				}
				var buf bytes.Buffer
				if _, err := audit.ExportJSONL(ctx, &buf, db.AuditEvents(), o.org.ID, audit.ExportOptions{}); err != nil {
					t.Fatal(err)
				}
				r, err := audit.VerifyJSONL(ctx, &buf, audit.VerifyOptions{Head: &h})
				if err != nil {
					t.Fatal(err)
				}
				wantOK(t, r, n+1, h)
			}
		})
	}
}

// TestDatabaseEnumChecks: the database itself accepts exactly the actor
// types and outcomes the format allows (as their stored codes), naming the
// constraint it enforces.
func TestDatabaseEnumChecks(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db := openDB(t, d)
			org := createOrg(t, db, "acme")
			insert := func(actorType repo.ActorType, outcome repo.Outcome) error {
				// The test plays the sealer: the event extends the chain, and
				// its head follows it.
				h := head(t, db, org.ID)
				s, hash := forged(t, db, org.ID, h.Seq+1, h.Hash,
					func(ev *repo.AuditEvent) { ev.ActorType, ev.Outcome = actorType, outcome })
				if err := execRaw(t.Context(), db.raw, d, s); err != nil {
					return err
				}
				return execRaw(t.Context(), db.raw, d, stmt{sql: "UPDATE audit_heads SET seq = ?, hash = ? WHERE org_id = ?",
					args: []any{h.Seq + 1, hash, org.ID.String()}})
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
				{repo.ActorUser, "failure", "audit_events_outcome_enum"},
			} {
				if err := insert(c.actorType, c.outcome); err == nil || !strings.Contains(err.Error(), c.constraint) {
					t.Errorf("actor type %q, outcome %q: err = %v, want %s to refuse it", c.actorType, c.outcome, err, c.constraint)
				}
			}
			wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), 6, head(t, db, org.ID))
		})
	}
}

// TestDatabaseWritersDoNotWaitOnTheChain: on PostgreSQL an audited
// mutation takes no lock another writer of the same org needs: while one
// transaction has recorded an event and not committed, another records
// one in the same org and commits, without waiting for the first (with
// the chain's head locked by every append until commit, as before issue 15,
// it would wait until the first ends). SQLite's single writer serializes
// every transaction anyway.
func TestDatabaseWritersDoNotWaitOnTheChain(t *testing.T) {
	db := openDB(t, repo.PostgreSQL)
	ctx := t.Context()
	org := createOrg(t, db, "acme")
	recordSamples(t, db, org.ID, 1)
	held, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.InTx(ctx, func(tx repo.Store) error {
			if _, err := audit.Record(ctx, tx, sample(org.ID, 1)); err != nil {
				return err
			}
			// A statement after the append sends it to the server, in the
			// transaction, before the commit.
			if _, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "first"}); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	second, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := db.InTx(second, func(tx repo.Store) error {
		if _, err := tx.Projects().Create(second, org.ID, repo.NewProject{Name: "second"}); err != nil {
			return err
		}
		_, err := audit.Record(second, tx, sample(org.ID, 2))
		return err
	})
	close(release)
	if err != nil {
		t.Fatalf("the second writer, while the first holds its transaction open: %v", err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	sealAll(t, db)
	wantOK(t, verifyDB(t, db, org.ID, audit.VerifyOptions{}), 3, head(t, db, org.ID))
}
