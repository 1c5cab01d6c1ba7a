package pgrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-go/strata/repo"
)

// PolicyChannel is the channel on which PostgreSQL announces a change of an
// org's policy version (see migrations/pg/000002_policy_notify.up.sql), with
// the payload "<org id>:<new version>".
const PolicyChannel = "strata_policy"

// DefaultHeartbeat is the default of PolicyWatcherOptions.Heartbeat.
const DefaultHeartbeat = 5 * time.Second

// PolicyWatcherOptions configure a PolicyWatcher. The zero value is usable.
type PolicyWatcherOptions struct {
	// Logger receives reports of malformed notifications; nil means
	// slog.Default(). (Why a subscription ended is Watch's return value.)
	Logger *slog.Logger
	// Heartbeat is how long the listening connection may stay silent before
	// it is pinged, and how long the ping (or the LISTEN after connecting)
	// may take before the connection is given up for dead. Zero means
	// DefaultHeartbeat.
	Heartbeat time.Duration
}

// PolicyWatcher delivers the policy-version changes committed by any client
// of the database, over PostgreSQL LISTEN/NOTIFY on PolicyChannel. It
// implements the Watcher of package enterprise/rbac:
//
//	go authz.Watch(ctx, db.PolicyWatcher(pgrepo.PolicyWatcherOptions{Logger: log}))
//
// Each Watch opens a connection of its own, made like the pool's (its
// config and BeforeConnect/AfterConnect hooks, so a multi-host URL follows a
// failover to the new primary), with " policy watcher" appended to its
// application_name (or "strata policy watcher" if it has none), so that
// operators can find it in pg_stat_activity. The pool's capacity is not
// touched. Give it the primary's handle: a standby refuses LISTEN, and the
// Authorizer would then never trust its cache.
//
// # Staleness
//
// A change is announced by a trigger on orgs, in the transaction that bumps
// the version, so it is delivered when that transaction commits and never
// if it rolls back. While subscribed, a change reaches the Authorizer after
// the delivery latency: the committing backend signals the listening one,
// which sends the notification at once; measured on one host, well under a
// millisecond at the median and a few milliseconds at worst (see
// TestPolicyWatcherLatency). It has no hard bound of its own: a listener
// that falls behind, or a network that delays packets, delays it.
//
// A subscription that breaks loudly (PostgreSQL restarted or failed over,
// the backend terminated, the connection reset) ends Watch at once, and a
// silent one (a host or network gone without a reset) ends it at most two
// heartbeats after the last message: the connection is pinged after one
// heartbeat of silence and given up if the ping does not answer within
// another. Either way rbac.Authorizer then trusts no cached answer until it
// has subscribed again and dropped its cache, so a broken subscription costs
// queries, not staleness; only the silent case leaves a window, of at most
// 2 × Heartbeat, in which changes can go unseen. Set the Authorizer's
// VersionSource and MaxStaleness for a hard bound on top.
type PolicyWatcher struct {
	pool      *pgxpool.Pool
	log       *slog.Logger
	heartbeat time.Duration
}

// PolicyWatcher returns a PolicyWatcher over db's database.
func (db *DB) PolicyWatcher(opts PolicyWatcherOptions) *PolicyWatcher {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	return &PolicyWatcher{pool: db.Pool(), log: opts.Logger, heartbeat: opts.Heartbeat}
}

// Watch connects, runs LISTEN on PolicyChannel, calls ready, then calls
// notify for each change in the order PostgreSQL delivers them (commit
// order), until ctx ends (it returns ctx's error) or the connection fails
// (it returns why). Malformed payloads are logged and skipped. It closes its
// connection before returning and never calls notify after that.
func (w *PolicyWatcher) Watch(ctx context.Context, ready func(), notify func(orgID uuid.UUID, version int64)) error {
	conn, err := w.subscribe(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	defer w.close(ctx, conn)
	ready()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, w.heartbeat)
		n, err := conn.WaitForNotification(waitCtx)
		timedOut := waitCtx.Err() != nil
		cancel()
		if n != nil {
			w.deliver(n.Channel, n.Payload, notify)
			continue
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case timedOut && !conn.IsClosed():
			// Silence for a heartbeat: make sure the server is still there.
			// Notifications that arrive meanwhile are kept for the next wait.
			if err := w.ping(ctx, conn); err != nil {
				return err
			}
		case conn.IsClosed():
			// Whatever the driver reports (a FATAL from a shutdown, an EOF
			// from a crash), the subscription is gone.
			return unavailable("connection lost", err)
		default:
			return watchErr(err)
		}
	}
}

// subscribe opens the listening connection and runs LISTEN on it. Connecting
// is bounded by ctx and the config's connect_timeout (per host, so that a
// multi-host URL can get past a dead host), as for the pool's connections;
// the rest by a heartbeat.
func (w *PolicyWatcher) subscribe(ctx context.Context) (*pgx.Conn, error) {
	pc := w.pool.Config() // a copy
	cfg := pc.ConnConfig
	if app := cfg.RuntimeParams["application_name"]; app != "" {
		cfg.RuntimeParams["application_name"] = app + " policy watcher"
	} else {
		cfg.RuntimeParams["application_name"] = "strata policy watcher"
	}
	if pc.BeforeConnect != nil {
		if err := pc.BeforeConnect(ctx, cfg); err != nil {
			return nil, watchErr(err)
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, watchErr(err)
	}
	setupCtx, cancel := context.WithTimeout(ctx, w.heartbeat)
	defer cancel()
	if pc.AfterConnect != nil {
		err = pc.AfterConnect(setupCtx, conn)
	}
	if err == nil {
		_, err = conn.Exec(setupCtx, "LISTEN "+PolicyChannel)
	}
	if err != nil {
		w.close(ctx, conn)
		return nil, watchErr(err)
	}
	return conn, nil
}

// close closes conn, which may be broken already, waiting at most a heartbeat.
func (w *PolicyWatcher) close(ctx context.Context, conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.heartbeat)
	defer cancel()
	_ = conn.Close(ctx)
}

// ping checks that the server answers within a heartbeat.
func (w *PolicyWatcher) ping(ctx context.Context, conn *pgx.Conn) error {
	pingCtx, cancel := context.WithTimeout(ctx, w.heartbeat)
	defer cancel()
	err := conn.Ping(pingCtx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case pingCtx.Err() != nil:
		return unavailable(fmt.Sprintf("no answer to a ping within %v", w.heartbeat), err)
	}
	return watchErr(err)
}

// unavailable reports a subscription lost for want of the server.
func unavailable(msg string, err error) error {
	return fmt.Errorf("pgrepo: policy watcher: %w", &repo.Error{Kind: repo.ErrUnavailable, Message: msg, Err: err})
}

// watchErr maps why a subscription failed to the repo vocabulary (typically
// ErrUnavailable), keeping the driver's message.
func watchErr(err error) error {
	return fmt.Errorf("pgrepo: policy watcher: %w", mapErr(err, "policy watcher"))
}

// deliver parses one notification and passes it on.
func (w *PolicyWatcher) deliver(channel, payload string, notify func(uuid.UUID, int64)) {
	org, version, err := parsePolicyPayload(payload)
	if channel != PolicyChannel || err != nil {
		w.log.Warn("pgrepo: ignoring a malformed policy notification",
			"channel", channel, "payload", payload, "err", err)
		return
	}
	notify(org, version)
}

// parsePolicyPayload parses "<org id>:<version>".
func parsePolicyPayload(payload string) (uuid.UUID, int64, error) {
	id, v, ok := strings.Cut(payload, ":")
	if !ok {
		return uuid.Nil, 0, errors.New(`want "<org id>:<version>"`)
	}
	org, err := uuid.Parse(id)
	if err != nil {
		return uuid.Nil, 0, err
	}
	version, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return uuid.Nil, 0, err
	}
	return org, version, nil
}
