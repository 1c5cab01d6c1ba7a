package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/repo/sqliterepo"
	"github.com/strata-go/strata/scaling"
	"github.com/strata-go/strata/service"
)

const (
	defaultDB   = "sqlite:strata.db"
	defaultAddr = "127.0.0.1:8080"
)

// ServeConfig is everything `strata serve` can be told.
type ServeConfig struct {
	DB        string // database URL
	Addr      string // listen address; port 0 picks a free port
	Migrate   bool   // apply pending migrations on PostgreSQL (SQLite always migrates)
	LogFormat string // "text" or "json"
	Shutdown  time.Duration
	// Bootstrap: on first start (no org at all) create this org and owner
	// and print the owner's API key once, so a new user has a way in.
	BootstrapOrg   string
	BootstrapEmail string
	// PolicyStaleness bounds how long a permission change made by another
	// process can go unseen by this one's authorization cache.
	PolicyStaleness time.Duration
	// RequestTimeout bounds each request but the streamed audit export,
	// so that a database that stops answering makes requests fail with 503
	// rather than hang; 0 means no bound.
	RequestTimeout time.Duration
	// RateLimit bounds requests per API key and failed authentications per
	// client address (429 with Retry-After).
	RateLimit httpapi.RateLimit
	// Replicas serve reads (PostgreSQL); Scaling tunes routing and pools,
	// and how long requests wait for a primary during a failover.
	Replicas []scaling.Replica
	Scaling  scaling.Config
	// IdempotencyTTL is how long the answers stored under Idempotency-Key
	// headers are kept (0: service.DefaultIdempotencyTTL); older ones are
	// pruned in the background.
	IdempotencyTTL time.Duration
}

// Server is a running `strata serve`: the database, the HTTP server and its
// listener. Open builds it, Run serves until the context ends, Close releases it.
type Server struct {
	cfg       ServeConfig
	log       *slog.Logger
	db        repo.DB
	http      *http.Server
	listener  net.Listener
	stopWatch context.CancelFunc // ends the policy watcher, if any
	sealer    *audit.Sealer
	stopSeal  func()             // stops the sealer once it sealed what is pending
	stopPrune context.CancelFunc // ends the pruning of idempotency keys
	pruned    chan struct{}      // closed when the pruning has ended
}

// OpenServer opens the database (migrating it as configured), bootstraps an
// empty one, and opens the listener. The first-start API key goes to stdout.
func OpenServer(ctx context.Context, cfg ServeConfig, log *slog.Logger, stdout io.Writer) (*Server, error) {
	db, err := openCluster(ctx, cfg.DB, cfg.Replicas, cfg.Scaling, cfg.Migrate, log)
	if err != nil {
		return nil, err
	}
	if err := checkWritable(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, db: db}
	authz := rbac.New(db.RoleBindings(), rbac.Options{Versions: db.Orgs(), MaxStaleness: cfg.PolicyStaleness, Logger: log})
	if pg, ok := db.(*pgrepo.DB); ok {
		// Other instances' policy changes arrive by LISTEN/NOTIFY within
		// milliseconds; PolicyStaleness stays the hard bound.
		watchCtx, stop := context.WithCancel(context.Background())
		s.stopWatch = stop
		go authz.Watch(watchCtx, pg.PolicyWatcher(pgrepo.PolicyWatcherOptions{Logger: log}))
	}
	s.startSealer()
	svc := service.New(db, authz, service.Options{IdempotencyTTL: cfg.IdempotencyTTL})
	if err := s.bootstrap(ctx, svc, stdout); err != nil {
		s.Close()
		return nil, err
	}
	reg, err := newRegistry(db, s.sealer)
	if err != nil {
		s.Close()
		return nil, err
	}
	pruneCtx, stopPrune := context.WithCancel(context.Background())
	s.stopPrune, s.pruned = stopPrune, make(chan struct{})
	go s.pruneIdempotencyKeys(pruneCtx, svc)
	s.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.http = &http.Server{
		Handler:           withRequestTimeout(httpapi.New(httpapi.Config{DB: db, Service: svc, Log: log, Registry: reg, RateLimit: cfg.RateLimit}), cfg.RequestTimeout),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// startSealer runs the audit sealer in the background: it seals the events
// that the server's transactions (woken by each commit) and other processes
// record, and at start whatever an earlier process left.
func (s *Server) startSealer() {
	opts := audit.SealerOptions{Log: s.log}
	if q, ok := s.db.(interface{ Queued() <-chan struct{} }); ok {
		opts.Wake = q.Queued()
	}
	s.sealer = audit.NewSealer(s.db.AuditEvents(), opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.sealer.Run(ctx)
	}()
	s.stopSeal = func() { cancel(); <-done }
}

// newRegistry returns the registry /metrics serves: the Go runtime's and
// the process's collectors, db's metrics and the audit sealer's; the API
// adds its own. Every component that has metrics registers them here, in
// the binary: no package below cmd/ uses a global registry.
func newRegistry(db repo.DB, sealer *audit.Sealer) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), sealer.Collector())
	if err := strata.RegisterMetrics(reg, db); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return reg, nil
}

// bootstrap gives an empty database its first org and owner, and prints the
// owner's API key: the only time it is shown.
func (s *Server) bootstrap(ctx context.Context, svc *service.Service, stdout io.Writer) error {
	if s.cfg.BootstrapOrg == "" {
		return nil
	}
	// Ask the primary: a replica may not have replayed the schema yet.
	page, err := s.db.Orgs().List(scaling.WithConsistency(ctx, scaling.Strong()), repo.PageRequest{Limit: 1})
	if err != nil || len(page.Items) > 0 {
		return err
	}
	org, key, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: s.cfg.BootstrapOrg, Email: s.cfg.BootstrapEmail},
		service.Request{RemoteAddr: "bootstrap"})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	s.log.Info("bootstrapped an empty database", "org", org.Slug, "owner", s.cfg.BootstrapEmail)
	fmt.Fprintf(stdout, "First start: created org %q with owner %s.\nTheir API key, shown this once (store it now):\n\n%s\n\n", org.Slug, s.cfg.BootstrapEmail, key.Secret)
	return nil
}

// checkWritable makes serve fail at startup, rather than answer every write
// with 503, when SQLite can read its file but not write it (a read-only
// file): it creates a table in a transaction that it rolls back.
func checkWritable(ctx context.Context, db repo.DB) error {
	sq, ok := db.(*sqliterepo.DB)
	if !ok {
		return nil
	}
	tx, err := sq.Writer().BeginTx(ctx, nil)
	if err == nil {
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, "CREATE TABLE strata_write_check (x)")
	}
	if err != nil {
		return fmt.Errorf("open database: cannot write to it: %w", err)
	}
	return nil
}

// withRequestTimeout gives every request but the streamed audit export (which
// WriteTimeout bounds) a deadline of d, past which its database calls fail
// and it is answered 503; d <= 0 means none.
func withRequestTimeout(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/audit-events/export") {
			h.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// Run serves until ctx ends, then shuts down gracefully: in-flight requests
// finish (up to the shutdown timeout) before Run returns.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.listener) }()
	s.log.Info("serving", "addr", "http://"+s.Addr(), "dialect", s.db.Dialect())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Shutdown)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops background work (the sealer seals what is pending first) and
// releases the database.
func (s *Server) Close() error {
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.stopSeal != nil {
		s.stopSeal()
	}
	if s.stopPrune != nil {
		s.stopPrune()
		<-s.pruned
	}
	return s.db.Close()
}

// pruneIdempotencyKeys deletes the answers stored under idempotency keys
// once they are past their retention, every quarter of it (at most every
// 5 minutes), until ctx ends. Each statement deletes a small batch, so
// that writers never wait long for it.
func (s *Server) pruneIdempotencyKeys(ctx context.Context, svc *service.Service) {
	defer close(s.pruned)
	ttl := s.cfg.IdempotencyTTL
	if ttl <= 0 {
		ttl = service.DefaultIdempotencyTTL
	}
	t := time.NewTicker(min(5*time.Minute, max(ttl/4, time.Second)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := svc.PruneIdempotencyKeys(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("pruning idempotency keys", "err", err, "pruned", n)
		case n > 0:
			s.log.Info("pruned idempotency keys", "count", n)
		}
	}
}

// runServe runs `strata serve`.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve [flags]", stderr)
	var cfg ServeConfig
	fs.StringVar(&cfg.DB, "db", envOr("STRATA_DB", defaultDB), "database URL: sqlite:FILE, sqlite::memory: or postgres://... (env STRATA_DB)")
	fs.StringVar(&cfg.Addr, "addr", envOr("STRATA_ADDR", defaultAddr), "listen address (env STRATA_ADDR)")
	fs.BoolVar(&cfg.Migrate, "migrate", envOr("STRATA_MIGRATE", "") == "1", "apply pending migrations on PostgreSQL (env STRATA_MIGRATE=1)")
	fs.StringVar(&cfg.LogFormat, "log-format", envOr("STRATA_LOG_FORMAT", "text"), "log format: text or json (env STRATA_LOG_FORMAT)")
	fs.DurationVar(&cfg.Shutdown, "shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish on SIGINT/SIGTERM")
	fs.StringVar(&cfg.BootstrapOrg, "bootstrap-org", envOr("STRATA_BOOTSTRAP_ORG", "acme"), "on first start (no org yet), create this org and print its owner's API key; empty: do not (env STRATA_BOOTSTRAP_ORG)")
	fs.StringVar(&cfg.BootstrapEmail, "bootstrap-email", envOr("STRATA_BOOTSTRAP_EMAIL", "admin@example.com"), "the first org's owner (env STRATA_BOOTSTRAP_EMAIL)")
	rl := &cfg.RateLimit
	fs.Float64Var(&rl.PerKey.PerSecond, "rate-limit", envFloat("STRATA_RATE_LIMIT", 0), "requests per second per API key, 429 beyond; 0: no limit (env STRATA_RATE_LIMIT)")
	fs.IntVar(&rl.PerKey.Burst, "rate-burst", 0, "requests a key may make at once (default: the rate, rounded up)")
	fs.Float64Var(&rl.FailedAuthPerAddr.PerSecond, "auth-fail-limit", envFloat("STRATA_AUTH_FAIL_LIMIT", 20), "failed authentications per second per client address (IPv4, IPv6 /64), 429 beyond; 0: no limit (env STRATA_AUTH_FAIL_LIMIT)")
	fs.IntVar(&rl.FailedAuthPerAddr.Burst, "auth-fail-burst", 100, "failed authentications a client address may make at once")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 30*time.Second, "longest a request may take before it fails with 503 (audit exports excepted; 0: no limit)")
	fs.DurationVar(&cfg.PolicyStaleness, "policy-staleness", time.Second, "longest time a permission change made by another process may go unseen by this one")
	replicas := replicaFlag{}
	if env := os.Getenv("STRATA_REPLICAS"); env != "" {
		for _, r := range strings.Split(env, ",") {
			if err := replicas.Set(strings.TrimSpace(r)); err != nil {
				return usageError{fmt.Sprintf("STRATA_REPLICAS: %v", err)}
			}
		}
	}
	fs.Var(&replicas, "replica", "a read replica as REGION=URL (repeatable; env STRATA_REPLICAS, comma-separated)")
	sc := &cfg.Scaling
	fs.StringVar(&sc.Region, "region", envOr("STRATA_REGION", ""), "this server's region: replicas there are preferred (env STRATA_REGION)")
	var maxConns, minConns int
	fs.IntVar(&maxConns, "pool-max-conns", 0, "connections per database node (default max(4, CPUs))")
	fs.IntVar(&minConns, "pool-min-conns", 0, "connections kept open per node")
	fs.DurationVar(&sc.MaxConnLifetime, "pool-max-conn-lifetime", 0, "close connections after this long (default 1h, plus jitter)")
	fs.DurationVar(&sc.MaxConnLifetimeJitter, "pool-max-conn-lifetime-jitter", 0, "random extra lifetime (default 10m)")
	fs.DurationVar(&sc.MaxConnIdleTime, "pool-max-conn-idle-time", 0, "close idle connections after this long (default 10m)")
	fs.DurationVar(&sc.HealthCheckPeriod, "pool-health-check-period", 0, "how often idle connections are checked (default 30s)")
	fs.Int64Var(&sc.MaxLagBytes, "max-lag-bytes", 0, "exclude replicas further behind than this many WAL bytes (default 16 MiB; negative: no limit)")
	fs.DurationVar(&sc.MaxLag, "max-lag", 0, "exclude replicas whose data may be older than this (default 30s; negative: no limit)")
	fs.DurationVar(&sc.CausalWait, "causal-wait", 0, "how long a read carrying a consistency token waits for a replica before using the primary (default 100ms)")
	fs.DurationVar(&sc.ProbeInterval, "probe-interval", 0, "time between health probes of a node (default 1s)")
	fs.DurationVar(&sc.EjectBackoff, "eject-backoff", 0, "first wait before probing an ejected replica again; doubles while it keeps failing (default 250ms)")
	fs.DurationVar(&sc.PrimaryWait, "primary-wait", 0, "how long a request that needs the primary waits for a writable one during a switchover or failover, within --request-timeout (default 15s; negative: answer 503 at once)")
	fs.DurationVar(&cfg.IdempotencyTTL, "idempotency-ttl", service.DefaultIdempotencyTTL, "how long an answer stored under an Idempotency-Key header is replayed to retries")
	fs.DurationVar(&sc.MaxEjectBackoff, "max-eject-backoff", 0, "longest wait between probes of an ejected replica; it is also how long a re-admitted replica must stay up before its backoff starts over (default 15s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve: unexpected argument %q", fs.Arg(0))}
	}
	cfg.Replicas = replicas
	if cfg.IdempotencyTTL <= 0 {
		return usageError{"serve: --idempotency-ttl must be positive"}
	}
	sc.MaxConns, sc.MinConns = int32(maxConns), int32(minConns)
	if err := sc.Validate(); err != nil {
		return usageError{err.Error()}
	}
	log, err := newLogger(cfg.LogFormat, stderr)
	if err != nil {
		return err
	}
	shutdownTracing, err := setupTracing(ctx)
	if err != nil {
		return err
	}
	defer func() {
		// The spans still buffered go out before the process ends.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(sctx); err != nil {
			log.Warn("tracing: flushing the last spans failed", "err", err)
		}
	}()
	srv, err := OpenServer(ctx, cfg, log, stdout)
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Run(ctx)
}

// envFloat returns the environment variable as a number, or def when it is
// unset or not a number.
func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

// replicaFlag collects --replica REGION=URL flags.
type replicaFlag []scaling.Replica

func (f *replicaFlag) String() string { return fmt.Sprint(len(*f), " replicas") }

func (f *replicaFlag) Set(v string) error {
	r, err := scaling.ParseReplica(v)
	if err != nil {
		return err
	}
	*f = append(*f, r)
	return nil
}

func newLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, usageError{fmt.Sprintf("--log-format %q: want text or json", format)}
}
