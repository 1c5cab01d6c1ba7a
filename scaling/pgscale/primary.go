package pgscale

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-go/strata/scaling"
)

// A PrimaryWait holds back the callers that need the primary while no
// writable primary is reachable (an HA manager is promoting a standby, a
// switchover is under way, the primary restarts), instead of letting them
// fail at once: a caller whose statement failed because the primary could
// not serve it (PrimaryLost) calls Wait, and tries again when it returns
// nil. Every caller's wait is bounded by the same maximum (Config
// PrimaryWait, default 15s) and by its context's deadline.
//
// Waiters share one probe at a time: a fresh connection to the primary's
// URL (every host it lists, in order, each within its connect_timeout or
// 2s) that must accept writes (target_session_attrs=read-write, whatever
// the URL says), made at most every 50ms. A probe that started before a
// caller's failure does not count for it, so a caller whose retry fails
// again waits for the next probe rather than spinning.
//
// Its methods are safe for concurrent use; a nil *PrimaryWait never waits.
type PrimaryWait struct {
	max   time.Duration
	probe *pgconn.Config

	mu    sync.Mutex
	round *probeRound // the last probe started
}

// probeRound is one probe of the primary, shared by its waiters.
type probeRound struct {
	start time.Time
	done  chan struct{} // closed when err is set
	err   error         // nil: a writable primary accepted a connection
}

// Defaults of the probes of a PrimaryWait.
const (
	probeGap            = 50 * time.Millisecond // between two probe starts
	probeConnectTimeout = 2 * time.Second       // per host, when the URL sets none
)

// NewPrimaryWait returns the PrimaryWait of the primary's pool; max bounds
// each wait, and zero or negative means no waiting (Wait fails at once).
func NewPrimaryWait(pool *pgxpool.Pool, max time.Duration) *PrimaryWait {
	if max <= 0 {
		return nil
	}
	cfg := pool.Config().ConnConfig.Config.Copy()
	cfg.ValidateConnect = pgconn.ValidateConnectTargetSessionAttrsReadWrite
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = probeConnectTimeout
	}
	cfg.RuntimeParams["application_name"] = "strata-primary-probe"
	return &PrimaryWait{max: max, probe: cfg}
}

// Max returns the longest a wait may last; 0 for a nil PrimaryWait.
func (w *PrimaryWait) Max() time.Duration {
	if w == nil {
		return 0
	}
	return w.max
}

// errWaitOver: no writable primary appeared within the wait.
var errWaitOver = errors.New("pgscale: no writable primary appeared within the wait")

// Wait waits until a probe that started after failed, the time of the
// caller's failure, finds a writable primary (nil), until passes (the end
// of the caller's wait: see Until), or ctx ends.
func (w *PrimaryWait) Wait(ctx context.Context, failed, until time.Time) error {
	if w == nil {
		return errWaitOver
	}
	timer := time.NewTimer(time.Until(until))
	defer timer.Stop()
	for {
		r := w.next(failed)
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return errWaitOver
		}
		if r.err == nil {
			return nil
		}
		failed = r.start
	}
}

// Until returns the end of a wait that starts at start: start plus the
// maximum wait (the caller's context bounds it too).
func (w *PrimaryWait) Until(start time.Time) time.Time {
	return start.Add(w.Max())
}

// next returns a probe that started after t: the last one if it did, else
// a new one, which starts probeGap after the last one at the earliest.
func (w *PrimaryWait) next(t time.Time) *probeRound {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r := w.round; r != nil && r.start.After(t) {
		return r
	}
	start := time.Now()
	if r := w.round; r != nil && start.Before(r.start.Add(probeGap)) {
		start = r.start.Add(probeGap)
	}
	r := &probeRound{start: start, done: make(chan struct{})}
	w.round = r
	go w.run(r)
	return r
}

// run probes once, at r.start.
func (w *PrimaryWait) run(r *probeRound) {
	time.Sleep(time.Until(r.start))
	hosts := 1 + len(w.probe.Fallbacks)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(hosts)*w.probe.ConnectTimeout+time.Second)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, w.probe)
	if err == nil {
		err = conn.Close(ctx)
	}
	r.err = err
	close(r.done)
}

// PrimaryLost reports whether err says the primary could not serve as one
// right now: it is unreachable, shutting down, starting up or in recovery
// (a connection failed, or was refused), or it answered 25006
// read_only_sql_transaction, which a demoted primary behind a proxy does on
// the connections it kept. A transaction that failed so did not commit,
// unless the failure came after its COMMIT was sent.
func PrimaryLost(err error) bool { return fault(err) == scaling.FaultNode || IsReadOnly(err) }

// IsReadOnly reports whether err is SQLSTATE 25006 read_only_sql_transaction:
// the connection is to a server that no longer takes writes, and so are,
// most likely, the pool's other connections.
func IsReadOnly(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "25006"
}
