package sqliterepo

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	"github.com/prometheus/client_golang/prometheus"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/internal/dbtrace"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling"
	"github.com/strata-go/strata/scaling/sqlitescale"
)

// Options configures Open. The zero value is ready to use.
type Options struct {
	// Readers is the number of read-only connections; 0 means
	// max(4, runtime.GOMAXPROCS(0)).
	Readers int
	// BusyTimeout is how long a statement waits for a lock held by another
	// process before it fails with SQLITE_BUSY; 0 means 10s.
	BusyTimeout time.Duration
	// Retry bounds how InTx runs a transaction again after a retryable
	// error; the zero value means repo.DefaultRetryPolicy.
	Retry repo.RetryPolicy
	// Untraced leaves out the OpenTelemetry span per statement (see
	// internal/dbtrace) that the connections otherwise make under every
	// recording span: for measuring what that costs.
	Untraced bool
}

// memoryPath is the path that opens a private in-memory database.
const memoryPath = ":memory:"

// DB is an open SQLite database: a repo.DB over one writer connection and a
// pool of read-only connections. It is safe for concurrent use.
type DB struct {
	writer *sql.DB
	reader *sql.DB
	// keep holds one connection of an in-memory database open until Close:
	// a memdb database disappears with its last connection, and the pools
	// may close theirs (an interrupted connection, say) at any time.
	keep *sql.Conn
	// router routes the reads outside transactions (to the reader pool,
	// which sees every committed write) and keeps the metrics.
	router *sqlitescale.Router
	// reads serves the reads outside transactions through the router, with
	// statements prepared once per pool.
	reads *sqlitescale.Reader
	retry repo.RetryPolicy
	// store serves the repositories outside transactions: DB has its
	// accessors (Orgs, Projects, ...).
	*store
	// prepared holds the writer connection's prepared statements, made on
	// the first transaction after the schema exists (see txQueries).
	prepared atomic.Pointer[sqlitedb.Queries]
	// w hands the writer connection to transactions in turn and commits
	// them in groups (see writer).
	w writer
	// queued is signaled (without blocking) after each group commit that
	// linked audit events into their chains; see Queued.
	queued chan struct{}
}

var _ repo.DB = (*DB)(nil)

// Open opens the SQLite database at path, a file name (created if missing)
// or ":memory:", and checks that it answers. It does not create the schema.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqliterepo: empty database path")
	}
	readers := opts.Readers
	if readers <= 0 {
		readers = max(4, runtime.GOMAXPROCS(0))
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	retry := opts.Retry
	if retry == (repo.RetryPolicy{}) {
		retry = repo.DefaultRetryPolicy
	}
	writerDSN, readerDSN, err := dataSourceNames(path, busy)
	if err != nil {
		return nil, fmt.Errorf("sqliterepo: open %s: %w", path, err)
	}

	db := &DB{retry: retry, queued: make(chan struct{}, 1)}
	fail := func(err error) (*DB, error) {
		db.Close()
		return nil, fmt.Errorf("sqliterepo: open %s: %w", path, mapErr(err, "database"))
	}
	// The one writer connection lives as long as the DB: no lock races
	// between our own writers, and the WAL stays open between writes.
	if db.writer, err = openPool(writerDSN, 1, 0, opts.Untraced); err != nil {
		return fail(err)
	}
	// Connect the writer first: it creates the file and switches it to WAL
	// before any reader opens it.
	if err := db.writer.PingContext(ctx); err != nil {
		return fail(err)
	}
	if path == memoryPath {
		readers++ // for keep
	}
	if db.reader, err = openPool(readerDSN, readers, 5*time.Minute, opts.Untraced); err != nil {
		return fail(err)
	}
	if path == memoryPath {
		db.keep, err = db.reader.Conn(ctx)
	} else {
		err = db.reader.PingContext(ctx)
	}
	if err != nil {
		return fail(err)
	}
	if db.router, err = sqlitescale.New(ctx, db.writer, db.reader, scaling.Config{}); err != nil {
		return fail(err)
	}
	db.reads = sqlitescale.NewReader(db.router)
	db.store = &store{db: db, read: sqlitedb.New(db.reads), write: sqlitedb.New(db.writer)}
	return db, nil
}

// openPool returns a pool of up to conns connections to dsn that never
// replaces a connection for its age and closes one unused for idle (0:
// never); each statement has a span unless untraced.
func openPool(dsn string, conns int, idle time.Duration, untraced bool) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	if !untraced {
		c = dbtrace.Connector(c, "sqlite")
	}
	pool := sql.OpenDB(c)
	pool.SetMaxOpenConns(conns)
	pool.SetMaxIdleConns(conns)
	pool.SetConnMaxLifetime(0)
	pool.SetConnMaxIdleTime(idle)
	return pool, nil
}

// dataSourceNames returns the DSNs of the writer and the reader pools for
// path, with the pragmas every connection runs when it opens.
func dataSourceNames(path string, busy time.Duration) (writer, reader string, err error) {
	// busy_timeout comes first so that the pragmas after it wait for locks.
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busy.Milliseconds())
	var name, journal string
	if path == memoryPath {
		// A memdb database whose name starts with "/" is shared by every
		// connection of the process that opens that name. It has no WAL.
		b := make([]byte, 8)
		rand.Read(b)
		name = "file:/strata-" + hex.EncodeToString(b) + "?vfs=memdb&"
	} else {
		// Absolute, so that connections opened after a chdir find the same file.
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", "", err
		}
		p := filepath.ToSlash(abs)
		if !strings.HasPrefix(p, "/") {
			p = "/" + p // a Windows drive letter
		}
		name = (&url.URL{Scheme: "file", Path: p}).String() + "?"
		journal = "&_pragma=journal_mode(WAL)"
	}
	writer = name + common + journal + "&_pragma=synchronous(NORMAL)&_txlock=immediate"
	reader = name + common + "&_pragma=query_only(1)"
	return writer, reader, nil
}

// Queued returns a channel that receives a value after a commit that
// linked audit events into their chains (values are dropped while one waits
// unread): the wake-up of a sealer running against this DB, which anchors
// the chains' heads (audit.SealerOptions).
func (db *DB) Queued() <-chan struct{} { return db.queued }

// Writer returns the writer pool, which has one connection: for migrations
// and tools. Holding its connection (in a transaction, say) blocks every
// write of the DB.
func (db *DB) Writer() *sql.DB { return db.writer }

// Reader returns the pool of read-only connections.
func (db *DB) Reader() *sql.DB { return db.reader }

// Router returns the router of the DB's reads: the writer is its primary,
// the reader pool its one replica, which satisfies every consistency mode
// (see package sqlitescale).
func (db *DB) Router() *sqlitescale.Router { return db.router }

// RegisterMetrics registers the database's metrics with reg, read at each
// scrape: the router's (reads routed, errors, pool statistics of the writer
// and the readers; see scaling.Router.Collector) and the writer's counters
// (groups committed and the transactions in them, stale audit chain heads).
func (db *DB) RegisterMetrics(reg prometheus.Registerer) error {
	return errors.Join(reg.Register(db.router.Collector()), db.w.registerMetrics(reg))
}

// Dialect returns repo.SQLite.
func (db *DB) Dialect() repo.Dialect { return repo.SQLite }

// Ping checks that the database answers, on a reader connection so that it
// does not wait for a running write transaction.
func (db *DB) Ping(ctx context.Context) error {
	return mapErr(db.reader.PingContext(ctx), "database")
}

// Close closes every connection. An in-memory database is gone afterwards.
func (db *DB) Close() error {
	var errs []error
	if db.router != nil {
		db.router.Close()
	}
	if db.reads != nil {
		errs = append(errs, db.reads.Close())
	}
	if db.keep != nil {
		errs = append(errs, db.keep.Close())
	}
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
	}
	if q := db.prepared.Load(); q != nil {
		errs = append(errs, q.Close())
	}
	if db.writer != nil {
		errs = append(errs, db.writer.Close())
	}
	return errors.Join(errs...)
}

// prepare prepares every query once on the writer connection, so that
// transactions do not parse their statements again: database/sql keeps no
// statement cache, and parsing is a large share of a small write's cost.
// It needs the schema, which Open does not create, so it is tried before
// each transaction until it succeeds; until then transactions run
// unprepared statements. SQLite re-prepares a statement by itself when a
// migration changes the schema under it.
func (db *DB) prepare(ctx context.Context) {
	if db.prepared.Load() != nil {
		return
	}
	q, err := sqlitedb.Prepare(ctx, db.writer)
	if err != nil {
		return // no schema yet: retried before the next transaction
	}
	if !db.prepared.CompareAndSwap(nil, q) {
		q.Close()
	}
}

// txQueries returns the queries of a transaction: the prepared statements
// bound to tx when there are any.
func (db *DB) txQueries(tx *sql.Tx) *sqlitedb.Queries {
	if q := db.prepared.Load(); q != nil {
		return q.WithTx(tx)
	}
	return sqlitedb.New(tx)
}

// InTx runs fn in one transaction on the writer connection (see
// repo.Store.InTx), retrying under the configured policy.
func (db *DB) InTx(ctx context.Context, fn func(tx repo.Store) error) error {
	return db.store.InTx(ctx, fn)
}

// store implements repo.Store, outside a transaction on the DB's pools and
// inside one on the transaction.
type store struct {
	db    *DB
	inTx  bool
	read  *sqlitedb.Queries // the reader pool, or the transaction
	write *sqlitedb.Queries // the writer connection, or the transaction
	g     *group            // the transaction's group; nil outside one
	// claims are the idempotency keys the transaction claimed.
	claims []repo.IdempotencyKey
}

func (s *store) Orgs() repo.Orgs                       { return orgs{s} }
func (s *store) Users() repo.Users                     { return users{s} }
func (s *store) Memberships() repo.Memberships         { return memberships{s} }
func (s *store) Roles() repo.Roles                     { return roles{s} }
func (s *store) RoleBindings() repo.RoleBindings       { return roleBindings{s} }
func (s *store) Projects() repo.Projects               { return projects{s} }
func (s *store) APIKeys() repo.APIKeys                 { return apiKeys{s} }
func (s *store) AuditEvents() repo.AuditEvents         { return auditEvents{s} }
func (s *store) IdempotencyKeys() repo.IdempotencyKeys { return idempotencyKeys{s} }

func (s *store) InTx(ctx context.Context, fn func(tx repo.Store) error) error {
	if s.inTx {
		return fn(s)
	}
	return s.db.retry.Do(ctx, func() error { return s.db.runTx(ctx, fn) })
}
