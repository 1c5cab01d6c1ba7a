// Package pgscale is the PostgreSQL side of package scaling: a Cluster is a
// pgx pool per node (one primary, any number of streaming replicas) behind a
// scaling.Router, with a probe that reads pg_is_in_recovery(), the replay
// position and the replay lag over a dedicated connection per node.
//
//	c, err := pgscale.Open(ctx, "postgres://app@db1/strata?target_session_attrs=read-write",
//		[]scaling.Replica{{Region: "eu", URL: "postgres://app@db-eu/strata"}},
//		scaling.Config{Region: "eu"})
//	if err != nil { ... }
//	defer c.Close()
//	q := pgdb.New(c)          // reads, routed per the context's consistency
//	w := pgdb.New(c.Writer()) // writes on the primary, recording tokens
//
// A Cluster implements the sqlc DBTX interface (Exec, Query, QueryRow) for
// reads: each statement asks the router for a node, runs there, and, if the
// node turns out to be unreachable, is retried on another one (a read of
// several rows only until its first row arrived). Exec goes to the primary.
// Use it only for reads outside transactions; transactions go to Primary.
//
// Tokens are WAL positions: Token reads pg_current_wal_insert_lsn() on the
// primary, which is at or past the commit record of every transaction that
// has committed, even with synchronous_commit off (pg_current_wal_lsn(), the
// write position, may be behind such a commit). A replica whose
// pg_last_wal_replay_lsn() is at or past it shows those transactions.
//
// Replay lag in time is measured on the replica as clock_timestamp() minus
// pg_last_xact_replay_timestamp() only while received WAL waits to be
// replayed, and 0 otherwise: the timestamp is that of the last replayed
// commit, so on an idle primary it grows without any lag. The replica's
// byte lag against the primary's position covers a replica that stopped
// receiving. Timestamps are the primary's clock: keep clocks in sync.
package pgscale

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-go/strata/scaling"

	"github.com/strata-go/strata/internal/dbtrace"
	"github.com/strata-go/strata/internal/pguuid"
)

// Cluster is a primary and its replicas, each with a pgx pool, and the
// router between them. Its methods are safe for concurrent use.
type Cluster struct {
	router  *scaling.Router[*pgxpool.Pool]
	drv     *driver
	primary *pgxpool.Pool
	pools   []*pgxpool.Pool // every node's, the primary's first
	wait    *PrimaryWait    // nil: callers do not wait for a primary
}

// Open connects to the primary at primaryURL (checking that it answers),
// creates a pool per replica (replicas that are down now join when they
// come up), tunes every pool from cfg, and starts the router. primaryURL may
// list several hosts with target_session_attrs=read-write, to follow a
// failover (see package scaling).
func Open(ctx context.Context, primaryURL string, replicas []scaling.Replica, cfg scaling.Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cluster{drv: newDriver()}
	primary, err := c.newPool(ctx, primaryURL, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgscale: primary: %w", err)
	}
	c.primary = primary.Conn
	c.wait = NewPrimaryWait(c.primary, cfg.WithDefaults().PrimaryWait)
	if err := c.primary.Ping(ctx); err != nil {
		c.closePools()
		return nil, fmt.Errorf("pgscale: primary %s: %w", primary.Name, err)
	}
	specs := make([]scaling.NodeSpec[*pgxpool.Pool], 0, len(replicas))
	for i, r := range replicas {
		spec, err := c.newPool(ctx, r.URL, cfg)
		if err != nil {
			c.closePools()
			return nil, fmt.Errorf("pgscale: replica %d: %w", i+1, err)
		}
		spec.Region, spec.Weight = r.Region, r.Weight
		specs = append(specs, spec)
	}
	c.router, err = scaling.New(ctx, cfg, scaling.Driver[*pgxpool.Pool](c.drv), primary, specs...)
	if err != nil {
		c.closePools()
		return nil, err
	}
	return c, nil
}

// newPool creates the pool of one node, without connecting.
func (c *Cluster) newPool(ctx context.Context, rawURL string, cfg scaling.Config) (scaling.NodeSpec[*pgxpool.Pool], error) {
	pc, err := poolConfig(rawURL, cfg)
	if err != nil {
		return scaling.NodeSpec[*pgxpool.Pool]{}, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return scaling.NodeSpec[*pgxpool.Pool]{}, err
	}
	c.pools = append(c.pools, pool)
	return scaling.NodeSpec[*pgxpool.Pool]{Name: nodeName(pc), Conn: pool}, nil
}

// poolConfig parses rawURL and applies cfg's pool settings: a non-zero
// field of cfg wins, then a pool_* parameter of the URL, then the default.
func poolConfig(rawURL string, cfg scaling.Config) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	d := cfg.WithDefaults()
	setPool(&pc.MaxConns, cfg.MaxConns, d.MaxConns, rawURL, "pool_max_conns")
	setPool(&pc.MinConns, cfg.MinConns, d.MinConns, rawURL, "pool_min_conns")
	setPool(&pc.MaxConnLifetime, cfg.MaxConnLifetime, d.MaxConnLifetime, rawURL, "pool_max_conn_lifetime")
	setPool(&pc.MaxConnLifetimeJitter, cfg.MaxConnLifetimeJitter, d.MaxConnLifetimeJitter, rawURL, "pool_max_conn_lifetime_jitter")
	setPool(&pc.MaxConnIdleTime, cfg.MaxConnIdleTime, d.MaxConnIdleTime, rawURL, "pool_max_conn_idle_time")
	setPool(&pc.HealthCheckPeriod, cfg.HealthCheckPeriod, d.HealthCheckPeriod, rawURL, "pool_health_check_period")
	if pc.MinConns > pc.MaxConns {
		return nil, fmt.Errorf("%w: pool MinConns (%d) exceeds MaxConns (%d)", scaling.ErrInvalidConfig, pc.MinConns, pc.MaxConns)
	}
	pc.AfterConnect = pguuid.Register          // uuid.UUID in binary, without text round trips
	pc.ConnConfig.Tracer = dbtrace.PgxTracer{} // a span per statement under a recording span
	return pc, nil
}

// setPool sets *dst to def when the Config field is set (explicit is not
// zero) or the URL does not set param.
func setPool[T comparable](dst *T, explicit, def T, rawURL, param string) {
	var zero T
	if explicit != zero || !strings.Contains(rawURL, param+"=") {
		*dst = def
	}
}

// nodeName names a node by its hosts and database, e.g.
// "db1:5432,db2:5432/strata": no user, no password.
func nodeName(pc *pgxpool.Config) string {
	cc := pc.ConnConfig
	hosts := []string{hostPort(cc.Host, cc.Port)}
	for _, fb := range cc.Fallbacks {
		if hp := hostPort(fb.Host, fb.Port); hp != hosts[len(hosts)-1] {
			hosts = append(hosts, hp)
		}
	}
	return strings.Join(hosts, ",") + "/" + cc.Database
}

func hostPort(host string, port uint16) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// Router returns the cluster's router (for metrics and tests).
func (c *Cluster) Router() *scaling.Router[*pgxpool.Pool] { return c.router }

// Primary returns the primary's pool, for writes and transactions.
func (c *Cluster) Primary() *pgxpool.Pool { return c.primary }

// Collector returns the router's metrics (see scaling.Router.Collector).
func (c *Cluster) Collector() prometheus.Collector { return c.router.Collector() }

// PrimaryWait returns what holds back callers of the primary while none is
// writable (see Config.PrimaryWait): routed reads that go to the primary
// use it, and so does package pgrepo for transactions. Nil when the
// Config says not to wait.
func (c *Cluster) PrimaryWait() *PrimaryWait { return c.wait }

// Close stops the probes and closes every pool.
func (c *Cluster) Close() {
	c.router.Close()
	c.drv.close()
	c.closePools()
}

func (c *Cluster) closePools() {
	for _, p := range c.pools {
		p.Close()
	}
	c.pools = nil
}

// RecordToken records the primary's current WAL position in ctx's token
// recorder, if ctx has one (scaling.WithTokenRecorder); adapters call it
// after a write commits. If the position cannot be read (the primary just
// went away, say) it records a token only the primary satisfies, so that
// the caller still reads its write.
func (c *Cluster) RecordToken(ctx context.Context) {
	if !scaling.Recording(ctx) {
		return
	}
	tok, err := c.Token(ctx)
	if err != nil {
		tok = scaling.PrimaryOnly()
	}
	scaling.RecordToken(ctx, tok)
}

// Token returns a token for the primary's current WAL insert position: a
// read carrying it sees every transaction committed before the call.
func (c *Cluster) Token(ctx context.Context) (scaling.Token, error) {
	var pos int64
	err := c.primary.QueryRow(ctx, "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8").Scan(&pos)
	if err != nil {
		return scaling.Token{}, fmt.Errorf("pgscale: reading the WAL position: %w", err)
	}
	if pos <= 0 {
		return scaling.Token{}, errors.New("pgscale: the primary reported no WAL position")
	}
	tok := scaling.TokenAt(uint64(pos))
	c.router.ObserveWrite(tok)
	return tok, nil
}
