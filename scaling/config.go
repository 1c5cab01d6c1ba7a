package scaling

import (
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"
)

// Replica names one read replica: its region and the URL to reach it.
type Replica struct {
	Region string // e.g. "eu-west"; compared with Config.Region
	URL    string // e.g. postgres://app@db-eu-1/strata
	// Weight is the replica's share of the reads among replicas that are
	// equally good (same region, similar latency): a replica of weight 2
	// gets about twice the reads of one of weight 1. 0 means 1.
	Weight int
}

// ParseReplica parses the REGION=URL form of the --replica flag, e.g.
// "eu-west=postgres://app@db-eu-1/strata". The region may be empty
// ("=postgres://...") for a replica in no particular region.
func ParseReplica(s string) (Replica, error) {
	region, rawURL, ok := strings.Cut(s, "=")
	if !ok || strings.Contains(region, "://") || rawURL == "" {
		return Replica{}, fmt.Errorf("scaling: replica %q: want REGION=URL", redact(s))
	}
	return Replica{Region: strings.TrimSpace(region), URL: rawURL}, nil
}

// redact hides a password in s, which may hold a URL after a "REGION=".
func redact(s string) string {
	prefix, rawURL, ok := strings.Cut(s, "=")
	if !ok || strings.Contains(prefix, "://") {
		prefix, rawURL = "", s
	} else {
		prefix += "="
	}
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		return prefix + u.Redacted()
	}
	return s
}

// Config tunes a Router and the connection pools of its nodes. Every zero
// field takes its default (see the Default* constants); a negative
// MaxLagBytes or MaxLag disables that limit.
//
// The pool fields apply to the pool of every node, primary included. On
// PostgreSQL, a zero pool field leaves a pool_* parameter of the node's URL
// (e.g. pool_max_conns=20) in force; a non-zero field overrides it. SQLite
// sizes its pools from its own URL (readers=N) and ignores them.
type Config struct {
	// Region is the region this process runs in: replicas of the same
	// region are preferred.
	Region string

	MaxConns              int32         // per node; default max(4, GOMAXPROCS)
	MinConns              int32         // per node; default 0
	MaxConnLifetime       time.Duration // default 1h
	MaxConnLifetimeJitter time.Duration // random extra lifetime, so connections do not all reconnect at once; default 10m
	MaxConnIdleTime       time.Duration // default 10m
	HealthCheckPeriod     time.Duration // how often idle connections are checked; default 30s

	// MaxLagBytes excludes a replica whose replayed WAL position is more
	// than this many bytes behind the primary's. Default 16 MiB.
	MaxLagBytes int64
	// MaxLag excludes a replica whose data may be older than this (replay
	// lag plus the age of the last probe). Default 30s.
	MaxLag time.Duration
	// CausalWait is how long a read carrying a consistency token waits for
	// a replica to replay that far before it goes to the primary.
	// Default 100ms.
	CausalWait time.Duration
	// ProbeInterval is the time between two probes of a healthy node.
	// Default 1s.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe (connecting included). Default 2s.
	ProbeTimeout time.Duration
	// EjectBackoff is the first wait before probing an ejected node again;
	// it doubles while the node keeps failing, or when it fails again soon
	// after re-admission, up to MaxEjectBackoff. Defaults 250ms and 15s.
	EjectBackoff    time.Duration
	MaxEjectBackoff time.Duration
	// LatencyTolerance is the latency difference below which two replicas
	// count as equally near (the band is the larger of this and half the
	// lowest latency). Default 1ms.
	LatencyTolerance time.Duration
	// PrimaryWait is how long a statement that needs the primary waits for
	// a writable one when none is reachable (a switchover or failover is
	// under way), before it fails; the caller's context bounds it too.
	// Default 15s; negative: no waiting, fail at once. (PostgreSQL; SQLite
	// has nothing to wait for.)
	PrimaryWait time.Duration
}

// Defaults of Config.
const (
	DefaultMinConns              = 0
	DefaultMaxConnLifetime       = time.Hour
	DefaultMaxConnLifetimeJitter = 10 * time.Minute
	DefaultMaxConnIdleTime       = 10 * time.Minute
	DefaultHealthCheckPeriod     = 30 * time.Second
	DefaultMaxLagBytes           = 16 << 20
	DefaultMaxLag                = 30 * time.Second
	DefaultCausalWait            = 100 * time.Millisecond
	DefaultProbeInterval         = time.Second
	DefaultProbeTimeout          = 2 * time.Second
	DefaultEjectBackoff          = 250 * time.Millisecond
	DefaultMaxEjectBackoff       = 15 * time.Second
	DefaultLatencyTolerance      = time.Millisecond
	DefaultPrimaryWait           = 15 * time.Second
)

// DefaultMaxConns is the default of Config.MaxConns: max(4, GOMAXPROCS).
func DefaultMaxConns() int32 { return int32(max(4, runtime.GOMAXPROCS(0))) }

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	setDefault(&c.MaxConns, DefaultMaxConns())
	setDefault(&c.MinConns, DefaultMinConns)
	setDefault(&c.MaxConnLifetime, DefaultMaxConnLifetime)
	setDefault(&c.MaxConnLifetimeJitter, DefaultMaxConnLifetimeJitter)
	setDefault(&c.MaxConnIdleTime, DefaultMaxConnIdleTime)
	setDefault(&c.HealthCheckPeriod, DefaultHealthCheckPeriod)
	setDefault(&c.MaxLagBytes, DefaultMaxLagBytes)
	setDefault(&c.MaxLag, DefaultMaxLag)
	setDefault(&c.CausalWait, DefaultCausalWait)
	setDefault(&c.ProbeInterval, DefaultProbeInterval)
	setDefault(&c.ProbeTimeout, DefaultProbeTimeout)
	setDefault(&c.EjectBackoff, DefaultEjectBackoff)
	setDefault(&c.MaxEjectBackoff, DefaultMaxEjectBackoff)
	setDefault(&c.LatencyTolerance, DefaultLatencyTolerance)
	setDefault(&c.PrimaryWait, DefaultPrimaryWait)
	c.MaxEjectBackoff = max(c.MaxEjectBackoff, c.EjectBackoff)
	return c
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// ErrInvalidConfig is what errors.Is finds in the errors of Config.Validate.
var ErrInvalidConfig = errors.New("invalid config")

// Validate reports a setting that cannot work: a negative pool size or
// duration (other than the lag limits, where negative means no limit, and
// PrimaryWait, where it means no waiting), or MinConns above MaxConns.
func (c Config) Validate() error {
	var errs []error
	if c.MaxConns < 0 || c.MinConns < 0 {
		errs = append(errs, errors.New("pool sizes must not be negative"))
	}
	if c.MaxConns > 0 && c.MinConns > c.MaxConns {
		errs = append(errs, fmt.Errorf("MinConns (%d) exceeds MaxConns (%d)", c.MinConns, c.MaxConns))
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"MaxConnLifetime", c.MaxConnLifetime}, {"MaxConnLifetimeJitter", c.MaxConnLifetimeJitter},
		{"MaxConnIdleTime", c.MaxConnIdleTime}, {"HealthCheckPeriod", c.HealthCheckPeriod},
		{"CausalWait", c.CausalWait}, {"ProbeInterval", c.ProbeInterval}, {"ProbeTimeout", c.ProbeTimeout},
		{"EjectBackoff", c.EjectBackoff}, {"MaxEjectBackoff", c.MaxEjectBackoff}, {"LatencyTolerance", c.LatencyTolerance},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", f.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scaling: %w: %w", ErrInvalidConfig, err)
	}
	return nil
}
