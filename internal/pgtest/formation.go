package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// AutoctlBinEnv names the environment variable that, when set, gives the
// pg_autoctl binary (pg_auto_failover); by default "pg_autoctl" on $PATH
// (Debian: apt-get install postgresql-15-auto-failover pg-auto-failover-cli).
const AutoctlBinEnv = "STRATA_TEST_PG_AUTOCTL"

// Formation is a throwaway pg_auto_failover formation on this machine: a
// monitor and Postgres nodes (a primary and synchronous secondaries), each
// run by a `pg_autoctl ... --run` process of its own (the keeper, which
// starts and supervises its PostgreSQL), as on the three machines of a
// production setup, here on loopback ports. It is what the tests of
// failovers and switchovers run against: the HA manager decides which node
// is primary, as it would in production.
//
// The processes run as the server account (see Cluster) with
// XDG_CONFIG_HOME and XDG_DATA_HOME of their own, so that formations of
// concurrent tests do not share pg_autoctl's state files. Its methods are
// safe for concurrent use.
type Formation struct {
	env     *env
	autoctl string
	root    string
	db      string
	monitor *keeper
	nodes   []*keeper
}

// keeper is one pg_autoctl process and the PostgreSQL it runs.
type keeper struct {
	name   string
	pgdata string
	port   int
	args   []string // how to start it (create ... --run the first time, run after)
	log    string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// FormationOptions shape a formation.
type FormationOptions struct {
	// Nodes is the number of Postgres nodes; 0 means 2.
	Nodes int
	// Database is the database the nodes create; "" means "strata".
	Database string
	// FastFailover tunes the monitor to detect a lost primary and promote
	// a secondary within seconds (health checks every second, a node
	// unhealthy after 3 s without contact, a 3 s demote timeout) instead of
	// pg_auto_failover's defaults (about 50 s from a lost machine to a
	// writable secondary on this project's test machine). Planned
	// switchovers are fast either way.
	FastFailover bool
}

// FastFailoverSettings are the monitor settings of FormationOptions.FastFailover.
var FastFailoverSettings = map[string]string{
	"pgautofailover.health_check_period":               "1000",
	"pgautofailover.health_check_timeout":              "1000",
	"pgautofailover.health_check_max_retries":          "1",
	"pgautofailover.health_check_retry_delay":          "500",
	"pgautofailover.node_considered_unhealthy_timeout": "3000",
	"pgautofailover.primary_demote_timeout":            "3000",
	"pgautofailover.startup_grace_period":              "2000",
}

// NewFormation starts a formation and waits until it is stable (one
// primary, the other nodes secondaries), about 30 s; it is stopped and its
// files removed when tb ends. A missing pg_autoctl fails tb, with how to
// install it.
func NewFormation(tb testing.TB, opts FormationOptions) *Formation {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f, err := StartFormation(ctx, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Stop)
	return f
}

// StartFormation starts a formation and waits until it is stable. The
// caller must call Stop.
func StartFormation(ctx context.Context, opts FormationOptions) (*Formation, error) {
	e, err := loadEnv()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	autoctl := os.Getenv(AutoctlBinEnv)
	if autoctl == "" {
		autoctl = "pg_autoctl"
	}
	if autoctl, err = exec.LookPath(autoctl); err != nil {
		return nil, fmt.Errorf("pgtest: pg_auto_failover's pg_autoctl not found (apt-get install postgresql-15-auto-failover pg-auto-failover-cli, or set %s): %w", AutoctlBinEnv, err)
	}
	root, err := e.tempDir()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	f := &Formation{env: e, autoctl: autoctl, root: root, db: opts.Database}
	if f.db == "" {
		f.db = "strata"
	}
	if opts.Nodes <= 0 {
		opts.Nodes = 2
	}
	if err := f.start(ctx, opts); err != nil {
		f.Stop()
		return nil, err
	}
	return f, nil
}

func (f *Formation) start(ctx context.Context, opts FormationOptions) error {
	for _, d := range []string{"config", "data"} {
		dir := filepath.Join(f.root, d)
		if err := os.Mkdir(dir, 0o700); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if err := f.env.user.chown(dir); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	mon, err := f.newKeeper("monitor")
	if err != nil {
		return err
	}
	mon.args = []string{"create", "monitor", "--pgdata", mon.pgdata, "--pgport", strconv.Itoa(mon.port),
		"--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run"}
	f.monitor = mon
	if err := f.launch(mon); err != nil {
		return err
	}
	if err := f.poll(ctx, "the monitor to accept connections", func(ctx context.Context) (bool, error) {
		conn, err := pgx.Connect(ctx, f.MonitorURL())
		if err != nil {
			return false, nil
		}
		defer conn.Close(ctx)
		if opts.FastFailover {
			for k, v := range FastFailoverSettings {
				if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER SYSTEM SET %s = %s", k, v)); err != nil {
					return false, err
				}
			}
			if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
				return false, err
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	monitorURI := fmt.Sprintf("postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable", mon.port)
	for i := range opts.Nodes {
		n, err := f.newKeeper("node" + strconv.Itoa(i+1))
		if err != nil {
			return err
		}
		n.args = []string{"create", "postgres", "--monitor", monitorURI, "--name", n.name, "--pgdata", n.pgdata,
			"--pgport", strconv.Itoa(n.port), "--hostname", "127.0.0.1", "--dbname", f.db, "--auth", "trust", "--no-ssl", "--run"}
		f.nodes = append(f.nodes, n)
		if err := f.launch(n); err != nil {
			return err
		}
		// The first node becomes the primary before the others register.
		if i == 0 {
			if err := f.poll(ctx, "the first node to be primary", func(ctx context.Context) (bool, error) {
				st, err := f.States(ctx)
				return err == nil && len(st) == 1 && st[0].Reported == "single", nil
			}); err != nil {
				return err
			}
		}
	}
	return f.WaitStable(ctx)
}

// newKeeper prepares a keeper's files and port.
func (f *Formation) newKeeper(name string) (*keeper, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return &keeper{name: name, pgdata: filepath.Join(f.root, name), port: port, log: filepath.Join(f.root, name+".log")}, nil
}

// command returns a pg_autoctl command of the formation: run as the
// server account, in the formation's directory, with its own state files.
func (f *Formation) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, f.autoctl, args...)
	cmd.Dir = f.root
	cmd.SysProcAttr = sysProcAttr(f.env.user)
	cmd.Env = []string{
		"PATH=" + f.env.binDir + ":/usr/local/bin:/usr/bin:/bin",
		"XDG_CONFIG_HOME=" + filepath.Join(f.root, "config"),
		"XDG_DATA_HOME=" + filepath.Join(f.root, "data"),
		"HOME=" + f.root,
	}
	return cmd
}

// launch starts k's pg_autoctl process.
func (f *Formation) launch(k *keeper) error {
	cmd := f.command(context.Background(), k.args...)
	logFile, err := os.OpenFile(k.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := startCmd(cmd); err != nil {
		return fmt.Errorf("pgtest: starting pg_autoctl %s: %w", k.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	k.mu.Lock()
	k.cmd, k.done = cmd, done
	k.mu.Unlock()
	return nil
}

// poll calls cond every 200 ms until it is true, fails, or ctx ends.
func (f *Formation) poll(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	for {
		ok, err := cond(ctx)
		if err != nil {
			return fmt.Errorf("pgtest: waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: waiting for %s: %w\n%s", what, ctx.Err(), f.logTails())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// logTails returns the end of every keeper's log, for failure messages.
func (f *Formation) logTails() string {
	var b strings.Builder
	for _, k := range append([]*keeper{f.monitor}, f.nodes...) {
		if k == nil {
			continue
		}
		data, _ := os.ReadFile(k.log)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", k.name, strings.Join(lines, "\n"))
	}
	return b.String()
}

// URL returns the URL a client of the formation uses for database dbname
// ("" for the formation's): every node, the writable one chosen at each
// connection (target_session_attrs=read-write), two seconds per host.
func (f *Formation) URL(dbname string) string {
	if dbname == "" {
		dbname = f.db
	}
	hosts := make([]string, len(f.nodes))
	for i, n := range f.nodes {
		hosts[i] = "127.0.0.1:" + strconv.Itoa(n.port)
	}
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&target_session_attrs=read-write&connect_timeout=2",
		strings.Join(hosts, ","), dbname)
}

// NodeURL returns the URL of database dbname ("" for the formation's) on
// node i (from 0) alone.
func (f *Formation) NodeURL(i int, dbname string) string {
	if dbname == "" {
		dbname = f.db
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=2", f.nodes[i].port, dbname)
}

// MonitorURL returns the URL of the monitor's database.
func (f *Formation) MonitorURL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/pg_auto_failover?sslmode=disable&connect_timeout=2", f.monitor.port)
}

// Nodes returns the number of Postgres nodes.
func (f *Formation) Nodes() int { return len(f.nodes) }

// NodeState is what the monitor knows of a node.
type NodeState struct {
	Name     string // node1, node2, ...
	Index    int    // from 0, as NodeURL takes it
	Reported string // the state the node's keeper last reported: primary, secondary, wait_primary, ...
	Goal     string // the state the monitor assigned it
}

// States returns the monitor's view of the nodes, in node order.
func (f *Formation) States(ctx context.Context) ([]NodeState, error) {
	conn, err := pgx.Connect(ctx, f.MonitorURL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node ORDER BY nodeid")
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (NodeState, error) {
		var s NodeState
		err := r.Scan(&s.Name, &s.Reported, &s.Goal)
		return s, err
	})
	for i := range out {
		out[i].Index = f.index(out[i].Name)
	}
	return out, err
}

func (f *Formation) index(name string) int {
	for i, n := range f.nodes {
		if n.name == name {
			return i
		}
	}
	return -1
}

// WaitStable waits until the formation is stable: every node in the state
// the monitor assigned it, one primary and the others secondaries.
func (f *Formation) WaitStable(ctx context.Context) error {
	return f.poll(ctx, "the formation to be stable", func(ctx context.Context) (bool, error) {
		st, err := f.States(ctx)
		if err != nil || len(st) != len(f.nodes) {
			return false, nil
		}
		primaries := 0
		for _, s := range st {
			switch {
			case s.Reported != s.Goal:
				return false, nil
			case s.Reported == "primary":
				primaries++
			case s.Reported != "secondary":
				return false, nil
			}
		}
		return primaries == 1, nil
	})
}

// Primary returns the index of the node the monitor has as primary (its
// assigned state primary or wait_primary), or -1.
func (f *Formation) Primary(ctx context.Context) (int, error) {
	st, err := f.States(ctx)
	if err != nil {
		return -1, err
	}
	for _, s := range st {
		if s.Goal == "primary" || s.Goal == "wait_primary" {
			return s.Index, nil
		}
	}
	return -1, nil
}

// Switchover performs a planned switchover as `pg_autoctl perform
// switchover` does, with the monitor's pgautofailover.perform_failover,
// and returns once another node is primary and the formation is stable
// again. It waits until ctx ends, not pg_autoctl's fixed 60 s, which a
// loaded test machine exceeded.
func (f *Formation) Switchover(ctx context.Context) error {
	before, err := f.Primary(ctx)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, f.MonitorURL())
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "SELECT pgautofailover.perform_failover('default', 0)")
	conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("pgtest: switchover: %w", err)
	}
	if err := f.poll(ctx, "a new primary", func(ctx context.Context) (bool, error) {
		p, err := f.Primary(ctx)
		return err == nil && p >= 0 && p != before, nil
	}); err != nil {
		return err
	}
	return f.WaitStable(ctx)
}

// Crash kills node i as a lost machine dies: its keeper, its PostgreSQL
// and every backend at once (SIGKILL to the keeper's process group). The
// keeper cannot restart PostgreSQL, so the monitor fails over to a
// secondary. Restart brings the node back.
func (f *Formation) Crash(i int) { f.nodes[i].kill() }

// kill sends SIGKILL to k's process group and waits until the keeper has
// exited and no process of the group is left.
func (k *keeper) kill() {
	k.mu.Lock()
	cmd, done := k.cmd, k.done
	k.mu.Unlock()
	if cmd == nil {
		return
	}
	killGroup(cmd.Process.Pid)
	<-done
	// The postmaster's children reparent to init and die of their own
	// SIGKILL; wait until none holds the data directory.
	for deadline := time.Now().Add(10 * time.Second); groupAlive(cmd.Process.Pid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts node i's keeper again (after Crash); the node rejoins
// the formation as a secondary (WaitStable waits for it).
func (f *Formation) Restart(i int) error {
	k := f.nodes[i]
	k.args = []string{"run", "--pgdata", k.pgdata}
	_ = os.Remove(filepath.Join(k.pgdata, "postmaster.pid"))
	return f.launch(k)
}

// FormationEvent is one state change the monitor recorded.
type FormationEvent struct {
	Time        time.Time
	Node        string
	Reported    string
	Goal        string
	Description string
}

// Events returns the monitor's events at or after since, oldest first.
func (f *Formation) Events(ctx context.Context, since time.Time) ([]FormationEvent, error) {
	conn, err := pgx.Connect(ctx, f.MonitorURL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT eventtime, nodename, reportedstate::text, goalstate::text, coalesce(description, '')
		FROM pgautofailover.event WHERE eventtime >= $1 ORDER BY eventid`, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FormationEvent, error) {
		var e FormationEvent
		err := r.Scan(&e.Time, &e.Node, &e.Reported, &e.Goal, &e.Description)
		return e, err
	})
}

// Promotion returns when, at or after since, the monitor assigned a node
// other than lost the primary's role (primary or wait_primary), from its
// events; ok is false when it has not.
func (f *Formation) Promotion(ctx context.Context, since time.Time, lost int) (at time.Time, ok bool, err error) {
	evs, err := f.Events(ctx, since)
	if err != nil {
		return time.Time{}, false, err
	}
	for _, e := range evs {
		if i := f.index(e.Node); i >= 0 && i != lost && (e.Goal == "wait_primary" || e.Goal == "primary") {
			return e.Time, true, nil
		}
	}
	return time.Time{}, false, nil
}

// Stop stops every keeper (and its PostgreSQL) at once and removes the
// formation's files.
func (f *Formation) Stop() {
	for _, k := range append(append([]*keeper{}, f.nodes...), f.monitor) {
		if k != nil {
			k.kill()
		}
	}
	_ = os.RemoveAll(f.root)
}
