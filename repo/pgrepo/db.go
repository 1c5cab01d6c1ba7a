// Package pgrepo implements the repo interfaces on PostgreSQL, over the
// sqlc-generated package db/pg and a pgx/v5 connection pool.
//
//	db, err := pgrepo.Open(ctx, "postgres://app@db1/strata", pgrepo.Options{})
//	if err != nil { ... }
//	defer db.Close()
//	p, err := db.Projects().Create(ctx, orgID, repo.NewProject{Name: "apollo"})
//
// OpenCluster opens a primary and its read replicas behind a
// scaling.Router (package scaling/pgscale): reads outside transactions go to
// replicas per the context's consistency, and writes record consistency
// tokens when the context asks (scaling.WithTokenRecorder).
//
// Open does not migrate; see package migrations. It reads which unique keys
// the schema has, so that a unique violation's ErrConflict names the input
// field the key is about (repo.Error.Field); strata.Migrate reads them
// again (see DB.LoadUniqueKeys).
package pgrepo

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling"
	"github.com/strata-go/strata/scaling/pgscale"

	"github.com/strata-go/strata/internal/dbtrace"
	"github.com/strata-go/strata/internal/pguuid"
)

// Options tune a PostgreSQL database handle. The zero value is usable.
type Options struct {
	// Retry bounds how InTx reruns transactions after serialization failures
	// and deadlocks; the zero value means repo.DefaultRetryPolicy.
	Retry repo.RetryPolicy
	// Reader, when set, serves the Store's reads outside transactions (a
	// replica router, say); writes and transactions always use the pool.
	Reader pgdb.DBTX
	// Untraced leaves out the OpenTelemetry span per statement (see
	// internal/dbtrace) that Open's pool otherwise makes under every
	// recording span: for measuring what that costs. (OpenCluster's pools
	// always trace.)
	Untraced bool
	// PrimaryWait bounds how long a transaction that failed because the
	// primary could not serve it waits for a writable primary before it
	// runs again (see primary.go); 0 means no waiting. NewCluster takes
	// the cluster's instead (scaling.Config.PrimaryWait, default 15s).
	PrimaryWait time.Duration
}

// DB is a PostgreSQL database: a pgx pool and the repo.Store over it.
type DB struct {
	*Store
	pool    *pgxpool.Pool
	cluster *pgscale.Cluster // nil unless opened by OpenCluster or NewCluster
}

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value DSN that pgxpool understands) and checks that it answers.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, repo.Invalid("database url", "%v", err)
	}
	cfg.AfterConnect = pguuid.Register
	if !opts.Untraced {
		cfg.ConnConfig.Tracer = dbtrace.PgxTracer{}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, mapErr(err, "database")
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, mapErr(err, "database")
	}
	return loaded(ctx, New(pool, opts))
}

// loaded returns db once it has loaded its unique keys (see unique.go), or
// closes it.
func loaded(ctx context.Context, db *DB) (*DB, error) {
	if err := db.LoadUniqueKeys(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// New wraps an existing pool. Close closes the pool. Unlike Open, it does
// not read the schema's unique keys: until LoadUniqueKeys, a unique
// violation's error names no field.
func New(pool *pgxpool.Pool, opts Options) *DB {
	if opts.Retry.MaxAttempts == 0 {
		opts.Retry = repo.DefaultRetryPolicy
	}
	reader := opts.Reader
	if reader == nil {
		reader = pool
	}
	keys := &uniqueKeys{}
	s := &Store{pool: pool, retry: opts.Retry, w: keys.naming(pool), r: pgdb.New(reader), keys: keys, queued: make(chan struct{}, 1), doubts: &doubts{},
		chains: new(sync.Map), sealer: &sealerPool{primary: pool}, wait: pgscale.NewPrimaryWait(pool, opts.PrimaryWait)}
	return &DB{Store: s, pool: pool}
}

// OpenCluster opens the primary at primaryURL (checking that it answers)
// and the replicas, each with a pool tuned by cfg, and routes the Store's
// reads outside transactions between them (see package scaling). Writes and
// transactions go to the primary, and record a consistency token in a
// context made by scaling.WithTokenRecorder once they commit.
func OpenCluster(ctx context.Context, primaryURL string, replicas []scaling.Replica, cfg scaling.Config, opts Options) (*DB, error) {
	c, err := pgscale.Open(ctx, primaryURL, replicas, cfg)
	if err != nil {
		var parseErr *pgconn.ParseConfigError
		if errors.As(err, &parseErr) || errors.Is(err, scaling.ErrInvalidConfig) {
			return nil, repo.Invalid("database url", "%v", err)
		}
		return nil, mapErr(err, "database")
	}
	return loaded(ctx, NewCluster(c, opts))
}

// NewCluster wraps a pgscale.Cluster: the Store reads through it, writes
// on its primary and records tokens; Close closes it. opts.Reader is
// ignored.
func NewCluster(c *pgscale.Cluster, opts Options) *DB {
	opts.Reader = c
	db := New(c.Primary(), opts)
	db.cluster = c
	db.Store.cluster = c
	db.Store.w = db.keys.naming(c.Writer())
	db.Store.wait = c.PrimaryWait()
	return db
}

// Queued returns a channel that receives a value after a transaction that
// queued audit events commits (values are dropped while one waits unread):
// the wake-up of a sealer running against this DB (audit.SealerOptions).
func (db *DB) Queued() <-chan struct{} { return db.Store.queued }

// Cluster returns the replica router's cluster, or nil for a DB opened
// without one.
func (db *DB) Cluster() *pgscale.Cluster { return db.cluster }

// RegisterMetrics registers the database's metrics with reg:
// strata_db_commits_in_doubt_total (see outcome.go) and, with a cluster,
// the router's per-node metrics (see scaling.Router.Collector).
func (db *DB) RegisterMetrics(reg prometheus.Registerer) error {
	err := reg.Register(db.doubts)
	if db.cluster == nil {
		return err
	}
	return errors.Join(err, reg.Register(db.cluster.Collector()))
}

// Pool returns the underlying pool (for migrations, metrics and tools); with
// a cluster, the primary's.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Dialect returns repo.PostgreSQL.
func (db *DB) Dialect() repo.Dialect { return repo.PostgreSQL }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return mapErr(db.pool.Ping(ctx), "database") }

// Close closes every connection of the pool (of every pool, with a cluster).
func (db *DB) Close() error {
	db.sealer.close()
	if db.cluster != nil {
		db.cluster.Close()
		return nil
	}
	db.pool.Close()
	return nil
}

// sealerPool is the one connection SealPending runs on, opened on first
// use with the primary pool's configuration: a sealer that had to wait for
// one of the pool's connections would wait longest exactly when requests
// keep them all busy, and its wait is every event's seal delay.
type sealerPool struct {
	primary *pgxpool.Pool
	mu      sync.Mutex
	pool    *pgxpool.Pool

	// sinceVacuum counts the events sealed (rows left dead in the queue)
	// since the sealer last vacuumed the queue.
	sinceVacuum atomic.Int64
}

// vacuumEvery is how many events a sealer seals between two VACUUMs of the
// queue (see sealerPool.sealed).
const vacuumEvery = 10_000

// sealed counts n events sealed (and deleted from the queue) and, every
// vacuumEvery, vacuums the queue on the sealer's connection. A queue's rows
// die within milliseconds; autovacuum looks at a table once a minute
// (autovacuum_naptime, a server-wide setting), and until a dead row is
// vacuumed every scan of the queue still reads it: at a few thousand
// events a second, the sealer would wade through a minute of them each
// round. Vacuuming a queue that holds few live rows takes milliseconds and
// blocks no writer. Without the right to vacuum it (a role that does not
// own the table), PostgreSQL skips it with a warning, and autovacuum alone
// keeps the queue; an error is left to autovacuum too.
func (p *sealerPool) sealed(ctx context.Context, pool *pgxpool.Pool, n int) {
	if p.sinceVacuum.Add(int64(n)) < vacuumEvery {
		return
	}
	p.sinceVacuum.Store(0)
	_, _ = pool.Exec(ctx, "VACUUM audit_pending")
}

// get returns the sealer's pool, opening it if need be.
func (p *sealerPool) get(ctx context.Context) (*pgxpool.Pool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pool != nil {
		return p.pool, nil
	}
	cfg := p.primary.Config()
	cfg.MaxConns, cfg.MinConns = 1, 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p.pool = pool
	return pool, nil
}

func (p *sealerPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pool != nil {
		p.pool.Close()
	}
}

// Store implements repo.Store on PostgreSQL, either on the pool (each call on
// its own) or bound to one transaction.
type Store struct {
	pool  *pgxpool.Pool
	retry repo.RetryPolicy
	w     *pgdb.Queries // writes: the pool, or the transaction
	r     *pgdb.Queries // reads: the reader, or the transaction
	// keys name the field of a violated unique key (see unique.go); w's
	// statements, and a transaction's, run through them.
	keys *uniqueKeys
	tx   *txConn // non-nil inside InTx
	// queued is signaled (without blocking) after each commit of a
	// transaction that queued audit events; see DB.Queued.
	queued chan struct{}
	// chains holds the IDs of the orgs known to have an audit chain, as
	// keys (see knownOrg); shared by the DB and its transactions.
	chains *sync.Map
	sealer *sealerPool // the connection SealPending runs on
	// cluster, outside transactions of a DB with replicas, records the
	// consistency token of each committed transaction.
	cluster *pgscale.Cluster
	// wait holds transactions back while no writable primary is reachable;
	// nil: they fail at once.
	wait *pgscale.PrimaryWait
	// doubts counts the transactions whose COMMIT went unanswered.
	doubts *doubts
}

var _ repo.DB = (*DB)(nil)

// Orgs returns the org repository.
func (s *Store) Orgs() repo.Orgs { return orgs{s} }

// Users returns the user repository.
func (s *Store) Users() repo.Users { return users{s} }

// Memberships returns the membership repository.
func (s *Store) Memberships() repo.Memberships { return memberships{s} }

// Roles returns the role repository.
func (s *Store) Roles() repo.Roles { return roles{s} }

// RoleBindings returns the role binding repository.
func (s *Store) RoleBindings() repo.RoleBindings { return roleBindings{s} }

// Projects returns the project repository.
func (s *Store) Projects() repo.Projects { return projects{s} }

// APIKeys returns the API key repository.
func (s *Store) APIKeys() repo.APIKeys { return apiKeys{s} }

// AuditEvents returns the audit event repository.
func (s *Store) AuditEvents() repo.AuditEvents { return auditEvents{s} }

// IdempotencyKeys returns the idempotency key repository.
func (s *Store) IdempotencyKeys() repo.IdempotencyKeys { return idempotencyKeys{s} }

// InTx runs fn in one transaction; see repo.Store.
func (s *Store) InTx(ctx context.Context, fn func(tx repo.Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	w := primaryWaiting{}
	for {
		var err error
		if w.unknown != nil {
			committed, rerr := s.resolve(ctx, w.unknown.tx.event)
			switch {
			case rerr == nil && committed:
				s.doubts.committed.Add(1)
				s.committed(ctx, w.unknown.tx)
				return nil
			case rerr == nil: // it did not commit: run it again
				s.doubts.runAgain.Add(1)
				w.unknown, w.unknownErr = nil, nil
				continue
			}
			err = rerr
		} else {
			err = s.retry.Do(ctx, func() error { return s.runTx(ctx, s.pool, fn) })
		}
		if !s.waitPrimary(ctx, err, &w) {
			if w.unknown != nil {
				err = w.unknownErr
			}
			if errors.As(err, new(*outcomeUnknown)) {
				s.doubts.unresolved.Add(1)
			}
			return err
		}
	}
}

// runTx runs fn once in a transaction of its own, on a connection of pool.
func (s *Store) runTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx repo.Store) error) (err error) {
	tx, err := begin(ctx, pool)
	if err != nil {
		return mapErr(err, "transaction")
	}
	// Rolls back unless committed: on an error, a panic or runtime.Goexit,
	// within ctx. Rollback on a broken connection fails too; fn's error is
	// the one to report.
	defer tx.rollback(ctx)
	q := s.keys.naming(tx)
	if err := fn(&Store{pool: s.pool, retry: s.retry, w: q, r: q, keys: s.keys, tx: tx, queued: s.queued, chains: s.chains, sealer: s.sealer}); err != nil {
		return err
	}
	if tx.conn.Conn().IsClosed() { // it broke, and fn did not notice: nothing to commit
		return mapErr(errClosedBeforeCommit, "transaction")
	}
	if err := tx.commit(ctx); err != nil {
		return commitError(err, tx)
	}
	s.committed(ctx, tx)
	return nil
}

// committed does what follows the commit of tx: the Store remembers the
// chains it found, the sealer wakes for the events it queued, and the
// cluster records the consistency token of the write.
func (s *Store) committed(ctx context.Context, tx *txConn) {
	for _, org := range tx.chains {
		s.chains.Store(org, struct{}{})
	}
	if tx.queued {
		select {
		case s.queued <- struct{}{}:
		default: // the sealer has a wake-up waiting already
		}
	}
	if s.cluster != nil {
		s.cluster.RecordToken(ctx)
	}
}

// inTx runs fn in a transaction for an operation that needs several
// statements to be atomic, joining the caller's transaction if there is one.
func (s *Store) inTx(ctx context.Context, fn func(tx *Store) error) error {
	return s.InTx(ctx, func(tx repo.Store) error { return fn(tx.(*Store)) })
}

// errNoRows reports whether err says a query returned no row.
func errNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// notFoundOr maps a "no rows" error to repo.NotFound(what) and any other
// error through mapErr.
func notFoundOr(err error, what string) error {
	if errNoRows(err) {
		return repo.NotFound(what)
	}
	return mapErr(err, what)
}

// affected turns the row count of an UPDATE or DELETE into not found when no
// row matched.
func affected(n int64, err error, what string) error {
	if err != nil {
		return mapErrOp(err, what, opDelete)
	}
	if n == 0 {
		return repo.NotFound(what)
	}
	return nil
}

// one finishes a query that returns one row about what: it maps err (no row
// is repo.NotFound(what)) or converts the row.
func one[R, T any](row R, err error, what string, convert func(R) T) (T, error) {
	if err != nil {
		var zero T
		return zero, notFoundOr(err, what)
	}
	return convert(row), nil
}
