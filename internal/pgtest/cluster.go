package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// readyTimeout bounds how long a starting server may take to accept
	// connections.
	readyTimeout = 30 * time.Second
	// stopTimeout bounds how long a fast shutdown may take before the
	// server is killed.
	stopTimeout = 15 * time.Second
	// startAttempts is how many times a server that exits during startup
	// is launched again (on a new port for a new cluster, in case another
	// process took the port we picked).
	startAttempts = 3
)

// Cluster is a throwaway PostgreSQL cluster (a data directory and the
// postmaster serving it) running as a child process of the test binary.
// If the test process dies, the kernel sends the postmaster SIGQUIT and
// the cluster shuts down immediately.
//
// Connect as user postgres, without password, over TCP to 127.0.0.1 (see
// [Cluster.URL]). The server runs with fsync, full_page_writes and
// synchronous_commit off: it is fast, and its data would not survive a
// machine crash, but does survive [Cluster.Kill] (except for the last few
// milliseconds of commits). wal_level is replica, so that
// [Cluster.StartReplica] works.
//
// The methods of a Cluster are safe for concurrent use.
type Cluster struct {
	env     *env
	root    string // private temp dir: data/, postgres.log, the Unix socket
	dataDir string
	logPath string
	port    int
	primary *Cluster // the cluster this one replicates, if any
	extra   []string // settings that override the defaults (see StartWith)

	mu      sync.Mutex
	proc    *process // the running postmaster; nil when not running
	removed bool     // Stop was called
}

// process is a running postmaster.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // the result of Wait, valid once done is closed
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start creates a new cluster in a fresh temporary directory and starts it
// on a free port. The caller must call [Cluster.Stop]; in tests prefer
// [NewCluster], which also arranges that. ctx bounds the startup only.
func Start(ctx context.Context) (*Cluster, error) { return StartWith(ctx) }

// StartWith is [Start] with server settings (name=value) that override the
// defaults, e.g. [Durable].
func StartWith(ctx context.Context, settings ...string) (*Cluster, error) {
	c, err := newCluster(nil)
	if err != nil {
		return nil, err
	}
	c.extra = settings
	if err := c.env.initDataDir(ctx, c.dataDir); err != nil {
		c.Stop()
		return nil, fmt.Errorf("pgtest: creating cluster: %w", err)
	}
	if err := c.launch(ctx, true); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// newCluster prepares an empty Cluster (with its temp dir and a free port)
// replicating primary, or not if primary is nil.
func newCluster(primary *Cluster) (*Cluster, error) {
	e, err := loadEnv()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	root, err := e.tempDir()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return &Cluster{
		env:     e,
		root:    root,
		dataDir: filepath.Join(root, "data"),
		logPath: filepath.Join(root, "postgres.log"),
		port:    port,
		primary: primary,
	}, nil
}

// StartReplica creates a streaming replica of c with pg_basebackup and
// starts it, on its own port, as a hot standby that accepts read-only
// queries. The replica is independent of c: stop it with its own
// [Cluster.Stop]. ctx bounds the backup and startup only.
func (c *Cluster) StartReplica(ctx context.Context) (*Cluster, error) {
	return c.startReplica(ctx, c.extra)
}

// startReplica is StartReplica with the replica's settings.
func (c *Cluster) startReplica(ctx context.Context, settings []string) (*Cluster, error) {
	r, err := newCluster(c)
	if err != nil {
		return nil, err
	}
	r.extra = settings
	// -R writes standby.signal and primary_conninfo; the port and socket
	// directory copied from the primary are overridden on the replica's
	// command line.
	err = r.env.run(ctx, r.root, "pg_basebackup",
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port()), "-U", "postgres",
		"-D", r.dataDir, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	if err != nil {
		r.Stop()
		return nil, fmt.Errorf("pgtest: creating replica: %w", err)
	}
	if err := r.launch(ctx, true); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// URL returns the URL to connect to database dbname of the cluster as the
// superuser postgres, e.g.
// postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable.
// Every cluster has a database named "postgres".
func (c *Cluster) URL(dbname string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, url.PathEscape(dbname))
}

// Port returns the TCP port the cluster listens on (on 127.0.0.1). It does
// not change when the cluster is restarted.
func (c *Cluster) Port() int { return c.port }

// DataDir returns the cluster's data directory. It is owned by the OS user
// the server runs as and is removed by [Cluster.Stop].
func (c *Cluster) DataDir() string { return c.dataDir }

// Stop shuts the cluster down (fast shutdown, then SIGKILL if it takes
// longer than 15 s) and removes its files. It may be called more than once
// and after [Cluster.Kill].
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil
	}
	c.removed = true
	err := c.shutdownLocked()
	if rmErr := os.RemoveAll(c.root); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("pgtest: removing cluster files: %w", rmErr))
	}
	return err
}

// Restart shuts the cluster down if it is running (fast shutdown) and
// starts it again on the same port with the same data. Use it with
// [Cluster.Kill] for crash-recovery tests, or on a replica to test a
// replica going away and coming back.
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return errors.New("pgtest: Restart of a stopped cluster")
	}
	if err := c.shutdownLocked(); err != nil {
		return err
	}
	return c.launchLocked(ctx, false)
}

// Kill crashes the cluster: it SIGKILLs the postmaster and all its
// processes at once. As after a real crash, transactions committed in the
// last few milliseconds may be lost, since synchronous_commit is off;
// everything else survives, as the files stay in the OS's cache. The data
// directory is kept: bring the cluster back with [Cluster.Restart] (which
// performs crash recovery) or remove it with [Cluster.Stop].
func (c *Cluster) Kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.killLocked()
}

// shutdownLocked stops the postmaster, if running, with a fast shutdown,
// escalating to killLocked after stopTimeout.
func (c *Cluster) shutdownLocked() error {
	p := c.proc
	if p == nil {
		return nil
	}
	if !p.exited() {
		_ = p.cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			c.killLocked()
			return fmt.Errorf("pgtest: server did not shut down within %v; killed it", stopTimeout)
		}
	}
	c.proc = nil
	return nil
}

// killLocked kills the postmaster and its processes, if running.
func (c *Cluster) killLocked() {
	p := c.proc
	if p == nil {
		return
	}
	if !p.exited() {
		killTree(p.cmd.Process.Pid)
		<-p.done
	}
	c.proc = nil
}

// launch starts the postmaster and waits until it accepts connections.
func (c *Cluster) launch(ctx context.Context, newPortOnRetry bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.launchLocked(ctx, newPortOnRetry)
}

// launchLocked starts the postmaster and waits until it accepts
// connections. A server that exits during startup is retried a few times:
// after Kill its old processes may linger for a moment, and a port picked
// by freePort may have been taken in the meantime (then, if
// newPortOnRetry, another port is picked).
func (c *Cluster) launchLocked(ctx context.Context, newPortOnRetry bool) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := c.startProcessLocked()
		if err == nil {
			err = c.waitReadyLocked(ctx)
		}
		if err == nil {
			return nil
		}
		c.killLocked()
		if !errors.Is(err, errExited) || attempt == startAttempts || ctx.Err() != nil {
			return err
		}
		if newPortOnRetry {
			port, perr := freePort()
			if perr != nil {
				return errors.Join(err, perr)
			}
			c.port = port
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// settings returns the server's command-line configuration: the defaults,
// then the cluster's own (later ones win). Settings given on the command
// line override postgresql.conf and postgresql.auto.conf, which matters for
// replicas, whose files are copies of the primary's.
func (c *Cluster) settings() []string {
	return append([]string{
		"port=" + strconv.Itoa(c.port),
		"listen_addresses=127.0.0.1",
		"unix_socket_directories=" + c.root,
		"fsync=off",
		"synchronous_commit=off",
		"full_page_writes=off",
		"max_connections=200",
		"wal_level=replica",
		"max_wal_senders=10",
		"hot_standby=on",
		// Flush asynchronous commits (and so ship them to replicas) soon.
		"wal_writer_delay=10ms",
		// Keep some WAL so that a replica that was down can catch up, but
		// not too much: the cluster may be in memory (see TempDirEnv).
		"wal_keep_size=128MB",
		"max_wal_size=256MB",
	}, c.extra...)
}

// startProcessLocked execs the postmaster as a child process.
func (c *Cluster) startProcessLocked() error {
	args := []string{"-D", c.dataDir}
	for _, s := range c.settings() {
		args = append(args, "-c", s)
	}
	// The server must outlive the ctx of the call that starts it.
	cmd := c.env.command(context.Background(), c.root, "postgres", args...)
	logFile, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := startCmd(cmd); err != nil {
		return fmt.Errorf("pgtest: starting postgres: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	c.proc = p
	return nil
}

// errExited marks a server that exited while we waited for it.
var errExited = errors.New("server exited during startup")

// waitReadyLocked polls until the server accepts connections, it exits,
// or ctx is done.
func (c *Cluster) waitReadyLocked(ctx context.Context) error {
	p := c.proc
	var lastErr error
	for {
		connCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgconn.Connect(connCtx, c.URL("postgres"))
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		lastErr = err
		select {
		case <-p.done:
			return fmt.Errorf("pgtest: postgres on port %d: %w (%v); server log:\n%s", c.port, errExited, p.err, c.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres on port %d not ready: %w (last error: %v); server log:\n%s", c.port, ctx.Err(), lastErr, c.logTail())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// logTail returns the last lines of the server log.
func (c *Cluster) logTail() string {
	const maxBytes, maxLines = 4096, 25
	f, err := os.Open(c.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		_, _ = f.Seek(-maxBytes, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// connect opens a connection to database "postgres" of the cluster.
func (c *Cluster) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return nil, fmt.Errorf("pgtest: connecting to port %d: %w", c.port, err)
	}
	return conn, nil
}

// exec runs one statement on database "postgres" of the cluster.
func (c *Cluster) exec(ctx context.Context, sql string) error {
	conn, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: %s: %w", sql, err)
	}
	return nil
}

// PauseReplay asks a replica to stop applying WAL (pg_wal_replay_pause).
// WAL the replica receives after PauseReplay returns is not applied, so
// writes made on the primary from then on stay invisible on the replica
// until [Cluster.ResumeReplay].
func (c *Cluster) PauseReplay(ctx context.Context) error {
	return c.exec(ctx, "SELECT pg_wal_replay_pause()")
}

// ResumeReplay lets a replica paused by [Cluster.PauseReplay] apply WAL
// again (pg_wal_replay_resume).
func (c *Cluster) ResumeReplay(ctx context.Context) error {
	return c.exec(ctx, "SELECT pg_wal_replay_resume()")
}

// WaitForReplay waits until a replica has applied all transactions
// committed on its primary before the call, so that they are visible to
// new queries on the replica. It waits at most 30 s if ctx has no
// deadline; it cannot succeed while replay is paused.
func (c *Cluster) WaitForReplay(ctx context.Context) error {
	if c.primary == nil {
		return errors.New("pgtest: WaitForReplay on a cluster that is not a replica")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	target, err := c.primary.flushedLSN(ctx)
	if err != nil {
		return err
	}
	conn, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for {
		var done bool
		err := conn.QueryRow(ctx,
			"SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", target).Scan(&done)
		if err != nil {
			return fmt.Errorf("pgtest: waiting for replay of %s: %w", target, err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: replica on port %d did not replay up to %s: %w", c.port, target, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// flushedLSN makes sure that everything committed so far on the cluster
// is flushed from WAL buffers, so that it can be streamed to replicas, and
// returns the WAL position up to which it is.
//
// With synchronous_commit off, a commit returns before its WAL is flushed.
// Committing a transaction that wrote WAL (here, a transactional logical
// decoding message, which is otherwise ignored) with synchronous_commit on
// flushes all WAL up to its commit record, which follows the commit
// records of all transactions that committed before. (A transaction that
// wrote no WAL other than its commit record is never committed
// synchronously.)
func (c *Cluster) flushedLSN(ctx context.Context) (string, error) {
	conn, err := c.connect(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = on"); err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_logical_emit_message(true, 'strata-pgtest', 'flush')"); err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	var lsn string
	if err := conn.QueryRow(ctx, "SELECT pg_current_wal_flush_lsn()::text").Scan(&lsn); err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	return lsn, nil
}
