package sqliterepo_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

// open opens path (":memory:" or a file name) and registers its Close.
func open(t *testing.T, path string) *sqliterepo.DB {
	t.Helper()
	db, err := sqliterepo.Open(t.Context(), path, sqliterepo.Options{Readers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// migrate applies the SQLite migrations to db, in order, on its writer.
func migrate(t *testing.T, db *sqliterepo.DB) {
	t.Helper()
	fsys := migrations.SQLite()
	names, err := fs.Glob(fsys, "*.up.sql")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	for _, name := range names {
		script, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Writer().ExecContext(t.Context(), string(script)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// openMigrated returns a fresh, migrated file database in a temporary directory.
func openMigrated(t *testing.T) *sqliterepo.DB {
	t.Helper()
	db := open(t, filepath.Join(t.TempDir(), "strata.db"))
	migrate(t, db)
	return db
}

// pragma reads one PRAGMA on a connection of pool.
func pragma(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) string {
	t.Helper()
	var v string
	if err := q.QueryRowContext(t.Context(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func mustKind(t *testing.T, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got error %v, want %v", err, kind)
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// seal is a stand-in for the audit package's Sealer: SHA-256 over the
// previous hash and a few fields.
func seal(ev *repo.AuditEvent) []byte {
	h := sha256.New()
	h.Write(ev.PrevHash)
	fmt.Fprintf(h, "%s|%d|%s|%s", ev.OrgID, ev.Seq, ev.ID, ev.Action)
	return h.Sum(nil)
}

func newOrg(t *testing.T, s repo.Store, slug string) repo.Org {
	t.Helper()
	org, err := s.Orgs().Create(t.Context(), repo.NewOrg{Slug: slug, Name: slug})
	check(t, err)
	return org
}

// concurrently runs fn(g, 0), ..., fn(g, each-1) in each of n goroutines g
// and reports every error.
func concurrently(t *testing.T, n, each int, fn func(g, i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range n {
		wg.Go(func() {
			for i := range each {
				if err := fn(g, i); err != nil {
					t.Errorf("goroutine %d, call %d: %v", g, i, err)
				}
			}
		})
	}
	wg.Wait()
}

// listAll follows a list's cursors, seven items a page, and returns every item.
func listAll[T any](t *testing.T, list func(repo.PageRequest) (repo.Page[T], error)) []T {
	t.Helper()
	var items []T
	page := repo.PageRequest{Limit: 7}
	for {
		p, err := list(page)
		check(t, err)
		items = append(items, p.Items...)
		if p.Next == "" {
			return items
		}
		page.Cursor = p.Next
	}
}

func TestPragmasFile(t *testing.T) {
	db := openMigrated(t)
	w, r := db.Writer(), db.Reader()
	for name, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "10000"} {
		if got := pragma(t, w, name); got != want {
			t.Errorf("writer %s = %s, want %s", name, got, want)
		}
	}
	for name, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "query_only": "1"} {
		if got := pragma(t, r, name); got != want {
			t.Errorf("reader %s = %s, want %s", name, got, want)
		}
	}
	if got := pragma(t, w, "query_only"); got != "0" {
		t.Errorf("writer query_only = %s, want 0", got)
	}
	if _, err := r.ExecContext(t.Context(), "CREATE TABLE t (x)"); err == nil {
		t.Error("a reader connection wrote")
	}
	if got, want := db.Dialect(), repo.SQLite; got != want {
		t.Errorf("Dialect() = %q, want %q", got, want)
	}
	check(t, db.Ping(t.Context()))
}

func TestPathNeedsEscaping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?#%", "x.db")
	if _, err := sqliterepo.Open(t.Context(), path, sqliterepo.Options{}); err == nil {
		t.Fatal("opened a file in a directory that does not exist")
	}
	path = filepath.Join(t.TempDir(), "we?ird #name%20.db")
	db := open(t, path)
	migrate(t, db)
	newOrg(t, db, "acme")
	var file string
	check(t, db.Reader().QueryRowContext(t.Context(), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file))
	if file != path {
		t.Errorf("database file is %q, want %q", file, path)
	}
}

func TestMemory(t *testing.T) {
	db := open(t, ":memory:")
	migrate(t, db) // on the writer
	if got := pragma(t, db.Writer(), "foreign_keys"); got != "1" {
		t.Errorf("writer foreign_keys = %s, want 1", got)
	}
	if got := pragma(t, db.Reader(), "query_only"); got != "1" {
		t.Errorf("reader query_only = %s, want 1", got)
	}
	if got := pragma(t, db.Reader(), "journal_mode"); got != "memory" {
		t.Errorf("reader journal_mode = %s, want memory", got)
	}
	org := newOrg(t, db, "acme")
	// The readers see the writer's tables and rows, from several connections.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := db.Orgs().Get(t.Context(), org.ID)
			if err != nil || got != org {
				t.Errorf("Get = %+v, %v; want %+v", got, err, org)
			}
		})
	}
	wg.Wait()

	// Every Open of ":memory:" is a database of its own.
	other := open(t, ":memory:")
	if _, err := other.Writer().ExecContext(t.Context(), "SELECT 1 FROM orgs"); err == nil {
		t.Error("a second in-memory database sees the first one's tables")
	}
}

// TestImmediateTransactions checks that InTx takes the write lock at BEGIN,
// even for a transaction that only reads, and that another process's
// SQLITE_BUSY comes back as a retryable ErrUnavailable.
func TestImmediateTransactions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "strata.db")
	a := open(t, path)
	migrate(t, a)
	ctx := t.Context()
	// b plays another process on the same file, with a short busy timeout
	// and no retries.
	b, err := sqliterepo.Open(ctx, path, sqliterepo.Options{BusyTimeout: 20 * time.Millisecond, Retry: repo.RetryPolicy{MaxAttempts: 1}})
	check(t, err)
	defer b.Close()

	inside, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- a.InTx(ctx, func(tx repo.Store) error {
			_, err := tx.Orgs().List(ctx, repo.PageRequest{}) // reads only
			close(inside)
			<-release
			return err
		})
	}()
	<-inside
	_, err = b.Orgs().Create(ctx, repo.NewOrg{Slug: "blocked", Name: "b"})
	mustKind(t, err, repo.ErrUnavailable)
	if !repo.IsRetryable(err) {
		t.Errorf("a write blocked by another process's transaction: %v, want a retryable error", err)
	}
	err = b.InTx(ctx, func(repo.Store) error { return nil })
	if !repo.IsRetryable(err) {
		t.Errorf("BEGIN blocked by another process's transaction: %v, want a retryable error", err)
	}
	// Reads go on meanwhile, in WAL mode.
	_, err = b.Orgs().List(ctx, repo.PageRequest{})
	check(t, err)
	close(release)
	check(t, <-done)
	newOrg(t, b, "unblocked")
}

func TestTimes(t *testing.T) {
	db := openMigrated(t)
	ctx := t.Context()
	org := newOrg(t, db, "acme")
	if org.CreatedAt != repo.Timestamp(org.CreatedAt) || org.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt %v is not a UTC microsecond timestamp", org.CreatedAt)
	}
	got, err := db.Orgs().Get(ctx, org.ID)
	check(t, err)
	if got != org {
		t.Errorf("Get = %+v, want %+v", got, org)
	}

	// Times written in any zone and precision come back in UTC, truncated to
	// the microsecond, and sort as times even across zones.
	east := time.FixedZone("east", 14*3600)
	base := time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.UTC)
	times := []time.Time{
		base.In(east),                               // ...59.999999
		base.Add(-time.Second).In(east),             // ...58.999999
		base.Add(time.Nanosecond),                   // 2024-03-01 00:00:00.000000
		base.Add(-999_999_999),                      // ...59.000000
		time.Date(9, 1, 1, 0, 0, 0, 1000, time.UTC), // year 0009
	}
	for i, ts := range times {
		ev, err := db.AuditEvents().Append(ctx, repo.AuditEvent{
			OrgID: org.ID, OccurredAt: ts, ActorType: repo.ActorSystem, Action: fmt.Sprint("a", i), Outcome: repo.OutcomeSuccess,
		}, seal)
		check(t, err)
		if want := repo.Timestamp(ts); !ev.OccurredAt.Equal(want) || ev.OccurredAt.Location() != time.UTC {
			t.Errorf("Append returned OccurredAt %v, want %v", ev.OccurredAt, want)
		}
	}
	anchor(t, db)
	page, err := db.AuditEvents().List(ctx, org.ID, repo.AuditFilter{}, repo.PageRequest{})
	check(t, err)
	for i, ev := range page.Items {
		if want := repo.Timestamp(times[i]); ev.OccurredAt != want {
			t.Errorf("event %d: OccurredAt %v, want %v", i, ev.OccurredAt, want)
		}
	}
	// Audit events store microseconds since 1970 (migration 000005), which
	// sort like the times.
	rows, err := db.Reader().QueryContext(ctx, "SELECT occurred_at FROM audit_events ORDER BY occurred_at")
	check(t, err)
	defer rows.Close()
	var stored []int64
	for rows.Next() {
		var us int64
		check(t, rows.Scan(&us))
		stored = append(stored, us)
	}
	check(t, rows.Err())
	want := []int64{
		time.Date(9, 1, 1, 0, 0, 0, 1000, time.UTC).UnixMicro(),
		time.Date(2024, 2, 29, 23, 59, 58, 999_999_000, time.UTC).UnixMicro(),
		time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC).UnixMicro(),
		time.Date(2024, 2, 29, 23, 59, 59, 999_999_000, time.UTC).UnixMicro(),
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro(),
	}
	if !slices.Equal(stored, want) {
		t.Errorf("stored times %v, want %v", stored, want)
	}
	// Since is inclusive and Until exclusive, at microsecond precision.
	filtered, err := db.AuditEvents().List(ctx, org.ID, repo.AuditFilter{
		Since: base.Add(-999_999_999), Until: base.Add(time.Nanosecond),
	}, repo.PageRequest{})
	check(t, err)
	var actions []string
	for _, ev := range filtered.Items {
		actions = append(actions, ev.Action)
	}
	if !slices.Equal(actions, []string{"a0", "a3"}) {
		t.Errorf("Since/Until filter gave %v, want [a0 a3]", actions)
	}

	// Nullable times: an API key's expiry.
	user, err := db.Users().Create(ctx, repo.NewUser{Email: "a@example.com"})
	check(t, err)
	member, err := db.Memberships().Add(ctx, org.ID, user.ID)
	check(t, err)
	if member.User != user {
		t.Errorf("member's user %+v, want %+v", member.User, user)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 6_789, east)
	key, err := db.APIKeys().Create(ctx, org.ID, repo.NewAPIKey{UserID: user.ID, Name: "k", SecretHash: make([]byte, 32), ExpiresAt: &exp})
	check(t, err)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // does not fit the stored format
	_, err = db.APIKeys().Create(ctx, org.ID, repo.NewAPIKey{UserID: user.ID, Name: "far", SecretHash: make([]byte, 32), ExpiresAt: &far})
	if repo.FieldOf(err) != "expires_at" {
		t.Errorf("ExpiresAt in the year 10000: %v, want ErrInvalid naming expires_at", err)
	}
	check(t, db.APIKeys().Revoke(ctx, org.ID, key.ID))
	key, err = db.APIKeys().Lookup(ctx, key.ID)
	check(t, err)
	if key.ExpiresAt == nil || *key.ExpiresAt != repo.Timestamp(exp) || key.RevokedAt == nil || key.RevokedAt.IsZero() {
		t.Errorf("ExpiresAt %v, RevokedAt %v", key.ExpiresAt, key.RevokedAt)
	}
}

func TestErrorMapping(t *testing.T) {
	db := openMigrated(t)
	ctx := t.Context()
	org := newOrg(t, db, "acme")

	// UNIQUE: a second org with the same slug.
	_, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "again"})
	mustKind(t, err, repo.ErrConflict)
	// UNIQUE on lower(email).
	_, err = db.Users().Create(ctx, repo.NewUser{Email: "Ann@example.com"})
	check(t, err)
	_, err = db.Users().Create(ctx, repo.NewUser{Email: "ann@EXAMPLE.com"})
	mustKind(t, err, repo.ErrConflict)
	// PRIMARY KEY: the same membership twice.
	user, err := db.Users().GetByEmail(ctx, "ANN@example.com")
	check(t, err)
	_, err = db.Memberships().Add(ctx, org.ID, user.ID)
	check(t, err)
	_, err = db.Memberships().Add(ctx, org.ID, user.ID)
	mustKind(t, err, repo.ErrConflict)

	// FOREIGN KEY on insert: a project of an org that does not exist.
	_, err = db.Projects().Create(ctx, uuid.New(), repo.NewProject{Name: "p"})
	mustKind(t, err, repo.ErrNotFound)
	// ... a binding of a role of another org.
	other := newOrg(t, db, "other")
	foreign, err := db.Roles().Create(ctx, other.ID, repo.NewRole{Name: "r", Permissions: []string{"*"}})
	check(t, err)
	_, err = db.RoleBindings().Create(ctx, org.ID, repo.NewRoleBinding{UserID: user.ID, RoleID: foreign.ID})
	mustKind(t, err, repo.ErrNotFound)

	// FOREIGN KEY on delete: a role that is still bound.
	role, err := db.Roles().Create(ctx, org.ID, repo.NewRole{Name: "editor", Permissions: []string{"projects.*"}})
	check(t, err)
	_, err = db.RoleBindings().Create(ctx, org.ID, repo.NewRoleBinding{UserID: user.ID, RoleID: role.ID})
	check(t, err)
	mustKind(t, db.Roles().Delete(ctx, org.ID, role.ID), repo.ErrConflict)

	// CHECK: a hash that is not 32 bytes.
	_, err = db.AuditEvents().Append(ctx, repo.AuditEvent{
		OrgID: org.ID, ActorType: repo.ActorSystem, Action: "x", Outcome: repo.OutcomeSuccess,
	}, func(*repo.AuditEvent) []byte { return []byte("short") })
	mustKind(t, err, repo.ErrInvalid)

	// Not found, and the driver's cause stays reachable.
	_, err = db.Orgs().Get(ctx, uuid.New())
	mustKind(t, err, repo.ErrNotFound)
	mustKind(t, db.Projects().Delete(ctx, org.ID, uuid.New()), repo.ErrNotFound)

	// A canceled context stays a canceled context.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = db.Orgs().Get(canceled, org.ID)
	mustKind(t, err, context.Canceled)
	mustKind(t, err, repo.ErrUnavailable)
}

func TestInTx(t *testing.T) {
	db := openMigrated(t)
	ctx := t.Context()

	var org repo.Org
	check(t, db.InTx(ctx, func(tx repo.Store) error {
		var err error
		org, err = tx.Orgs().Create(ctx, repo.NewOrg{Slug: "committed", Name: "c"})
		if err != nil {
			return err
		}
		// Nested InTx runs in the same transaction and sees its writes.
		return tx.InTx(ctx, func(tx2 repo.Store) error {
			_, err := tx2.Orgs().Get(ctx, org.ID)
			return err
		})
	}))
	_, err := db.Orgs().Get(ctx, org.ID)
	check(t, err)

	boom := errors.New("boom")
	err = db.InTx(ctx, func(tx repo.Store) error {
		newOrg(t, tx, "rolled-back")
		return boom
	})
	if err != boom {
		t.Fatalf("InTx returned %v, want fn's error", err)
	}
	_, err = db.Orgs().GetBySlug(ctx, "rolled-back")
	mustKind(t, err, repo.ErrNotFound)

	func() {
		defer func() {
			if p := recover(); p != "panic" {
				t.Errorf("recovered %v, want the panic of fn", p)
			}
		}()
		db.InTx(ctx, func(tx repo.Store) error {
			newOrg(t, tx, "panicked")
			panic("panic")
		})
	}()
	_, err = db.Orgs().GetBySlug(ctx, "panicked")
	mustKind(t, err, repo.ErrNotFound)
	// The writer connection is free again.
	newOrg(t, db, "after-panic")
}

func TestInTxRetry(t *testing.T) {
	db := openMigrated(t)
	ctx := t.Context()
	runs := 0
	err := db.InTx(ctx, func(tx repo.Store) error {
		runs++
		newOrg(t, tx, fmt.Sprint("run-", runs))
		if runs == 1 {
			busy := &repo.Error{Kind: repo.ErrUnavailable, Retryable: true, Message: "busy"}
			return fmt.Errorf("wrapped by fn: %w", busy)
		}
		return nil
	})
	check(t, err)
	if runs != 2 {
		t.Errorf("fn ran %d times, want 2", runs)
	}
	_, err = db.Orgs().GetBySlug(ctx, "run-1")
	mustKind(t, err, repo.ErrNotFound) // the first run was rolled back
	_, err = db.Orgs().GetBySlug(ctx, "run-2")
	check(t, err)

	// A policy's attempts are bounded.
	path := filepath.Join(t.TempDir(), "bounded.db")
	db2, err := sqliterepo.Open(ctx, path, sqliterepo.Options{Retry: repo.RetryPolicy{MaxAttempts: 3}})
	check(t, err)
	defer db2.Close()
	runs = 0
	err = db2.InTx(ctx, func(repo.Store) error {
		runs++
		return &repo.Error{Kind: repo.ErrUnavailable, Retryable: true}
	})
	if !repo.IsRetryable(err) || runs != 3 {
		t.Errorf("InTx = %v after %d runs, want a retryable error after 3", err, runs)
	}
}

// TestConcurrentWrites runs writes from many goroutines, in and out of
// transactions, with reads alongside: none may fail (no SQLITE_BUSY).
func TestConcurrentWrites(t *testing.T) {
	for _, path := range []string{"file", ":memory:"} {
		t.Run(path, func(t *testing.T) {
			if path == "file" {
				path = filepath.Join(t.TempDir(), "strata.db")
			}
			db := open(t, path)
			migrate(t, db)
			ctx := t.Context()
			org := newOrg(t, db, "acme")
			const goroutines, each = 16, 20
			concurrently(t, goroutines, each, func(g, i int) error {
				name := fmt.Sprintf("p-%d-%d", g, i)
				if _, err := db.Projects().List(ctx, org.ID, repo.PageRequest{Limit: 5}); err != nil {
					return err
				}
				if i%2 == 0 {
					_, err := db.Projects().Create(ctx, org.ID, repo.NewProject{Name: name})
					return err
				}
				return db.InTx(ctx, func(tx repo.Store) error {
					p, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: name})
					if err != nil {
						return err
					}
					if _, err = tx.Orgs().BumpPolicyVersion(ctx, org.ID); err != nil {
						return err
					}
					_, err = tx.Projects().Update(ctx, org.ID, p.ID, repo.ProjectUpdate{Description: &name})
					return err
				})
			})
			all := listAll(t, func(page repo.PageRequest) (repo.Page[repo.Project], error) {
				return db.Projects().List(ctx, org.ID, page)
			})
			if len(all) != goroutines*each {
				t.Errorf("%d projects, want %d", len(all), goroutines*each)
			}
			v, err := db.Orgs().PolicyVersion(ctx, org.ID)
			check(t, err)
			if want := int64(1 + goroutines*each/2); v != want {
				t.Errorf("policy version %d, want %d", v, want)
			}
		})
	}
}

// anchor seals the events linked so far, as the sealer would: their
// chains' heads move to their ends.
func anchor(t *testing.T, db repo.Store) {
	t.Helper()
	_, err := db.AuditEvents().SealPending(t.Context(), seal)
	check(t, err)
}

// TestAuditAppendConcurrent appends to one org's chain from many goroutines,
// on their own and inside transactions: the chain must come out gapless and
// linked.
func TestAuditAppendConcurrent(t *testing.T) {
	db := openMigrated(t)
	ctx := t.Context()
	org := newOrg(t, db, "acme")
	const goroutines, each = 16, 10
	concurrently(t, goroutines, each, func(g, i int) error {
		ev := repo.AuditEvent{OrgID: org.ID, ActorType: repo.ActorUser, ActorID: fmt.Sprint(g), Action: "project.create", Outcome: repo.OutcomeSuccess}
		if i%2 == 0 {
			_, err := db.AuditEvents().Append(ctx, ev, seal)
			return err
		}
		return db.InTx(ctx, func(tx repo.Store) error {
			_, err := tx.AuditEvents().Append(ctx, ev, seal)
			return err
		})
	})
	if events := checkChain(t, db, org); len(events) != goroutines*each {
		t.Errorf("%d events, want %d", len(events), goroutines*each)
	}
	// The table refuses to change its past.
	if _, err := db.Writer().ExecContext(ctx, "DELETE FROM audit_events"); err == nil {
		t.Error("audit events were deleted")
	}
}

// checkChain lists org's audit events, oldest first, and checks that they
// form its chain: gapless sequence numbers from 1, each linked to the one
// before and sealed, the last one the org's head.
func checkChain(t *testing.T, db *sqliterepo.DB, org repo.Org) []repo.AuditEvent {
	t.Helper()
	ctx := t.Context()
	anchor(t, db)
	events := listAll(t, func(page repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
		return db.AuditEvents().List(ctx, org.ID, repo.AuditFilter{}, page)
	})
	prev := make([]byte, repo.HashLen)
	for i, ev := range events {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
		if !bytes.Equal(ev.PrevHash, prev) {
			t.Fatalf("event %d: prev hash does not link", ev.Seq)
		}
		if !bytes.Equal(seal(&ev), ev.Hash) {
			t.Fatalf("event %d: hash does not match", ev.Seq)
		}
		prev = ev.Hash
	}
	seq, hash, err := db.AuditEvents().Head(ctx, org.ID)
	check(t, err)
	if seq != int64(len(events)) || !bytes.Equal(hash, prev) {
		t.Fatalf("Head = %d, %x; want %d, %x", seq, hash, len(events), prev)
	}
	return events
}
