package pgscale

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-go/strata/scaling"
)

// driver is the scaling.Driver of PostgreSQL. It probes each node over a
// connection of its own, outside the node's pool, so that a busy pool
// neither delays probes nor loses a connection to them.
type driver struct {
	mu     sync.Mutex
	conns  map[*pgxpool.Pool]*pgx.Conn
	closed bool
}

func newDriver() *driver { return &driver{conns: map[*pgxpool.Pool]*pgx.Conn{}} }

// probeSQL returns whether the server is in recovery, its replay position
// (a replica) or WAL insert position (a primary), and its replay lag in
// seconds: the age of the last replayed commit while received WAL waits to
// be replayed, else 0.
const probeSQL = `SELECT r,
	coalesce((CASE WHEN r THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END - '0/0'::pg_lsn)::int8, 0),
	CASE WHEN r AND pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()
		THEN coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8, 0)
		ELSE 0 END
FROM pg_is_in_recovery() AS r`

// Probe implements scaling.Driver.
func (d *driver) Probe(ctx context.Context, pool *pgxpool.Pool, role scaling.Role) (scaling.Status, error) {
	conn, err := d.conn(ctx, pool)
	if err != nil {
		return scaling.Status{}, err
	}
	var (
		inRecovery bool
		pos        int64
		lag        float64
	)
	start := time.Now()
	err = conn.QueryRow(ctx, probeSQL).Scan(&inRecovery, &pos, &lag)
	latency := time.Since(start)
	if err != nil {
		d.drop(pool, conn)
		return scaling.Status{}, err
	}
	switch {
	case role == scaling.RoleReplica && !inRecovery:
		return scaling.Status{}, errors.New("pgscale: replica is not in recovery (promoted?)")
	case role == scaling.RolePrimary && inRecovery:
		return scaling.Status{}, errors.New("pgscale: primary is in recovery (a standby)")
	}
	return scaling.Status{
		Position: uint64(max(pos, 0)),
		Lag:      time.Duration(max(lag, 0) * float64(time.Second)),
		Latency:  latency,
	}, nil
}

// conn returns the probe connection of pool's node, connecting if needed.
func (d *driver) conn(ctx context.Context, pool *pgxpool.Pool) (*pgx.Conn, error) {
	d.mu.Lock()
	conn := d.conns[pool]
	d.mu.Unlock()
	if conn != nil && !conn.IsClosed() {
		return conn, nil
	}
	cc := pool.Config().ConnConfig
	cc.RuntimeParams["application_name"] = "strata-probe"
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		conn.Close(context.Background())
		return nil, errors.New("pgscale: closed")
	}
	d.conns[pool] = conn
	return conn, nil
}

// drop closes a probe connection that failed.
func (d *driver) drop(pool *pgxpool.Pool, conn *pgx.Conn) {
	d.mu.Lock()
	if d.conns[pool] == conn {
		delete(d.conns, pool)
	}
	d.mu.Unlock()
	closeQuickly(conn)
}

// close closes every probe connection.
func (d *driver) close() {
	d.mu.Lock()
	conns := d.conns
	d.conns, d.closed = nil, true
	d.mu.Unlock()
	for _, conn := range conns {
		closeQuickly(conn)
	}
}

func closeQuickly(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}

// Fault implements scaling.Driver.
func (d *driver) Fault(err error) scaling.Fault { return fault(err) }

func fault(err error) scaling.Fault {
	if err == nil || errors.Is(err, pgx.ErrNoRows) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return scaling.FaultNone
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch code := pgErr.Code; {
		case strings.HasPrefix(code, "08"), // connection exception
			code == "57P01", // admin_shutdown
			code == "57P02", // crash_shutdown
			code == "57P03": // cannot_connect_now: starting up, or shutting down
			return scaling.FaultNode
		case code == "40001", // serialization_failure: a standby's recovery conflict
			code == "40P01", // deadlock_detected, also a recovery conflict
			code == "53300": // too_many_connections
			return scaling.FaultRetry
		}
		return scaling.FaultQuery
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	if errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) {
		return scaling.FaultNode
	}
	return scaling.FaultQuery
}

// Stats implements scaling.Driver.
func (d *driver) Stats(pool *pgxpool.Pool) scaling.PoolStats {
	s := pool.Stat()
	return scaling.PoolStats{
		MaxConns: int64(s.MaxConns()), TotalConns: int64(s.TotalConns()),
		IdleConns: int64(s.IdleConns()), InUseConns: int64(s.AcquiredConns()),
		Acquires: s.AcquireCount(), WaitedAcquires: s.EmptyAcquireCount(), WaitTime: s.EmptyAcquireWaitTime(),
	}
}

// Reset implements scaling.Driver.
func (d *driver) Reset(pool *pgxpool.Pool) { pool.Reset() }
