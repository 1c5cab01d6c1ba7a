// Package strata opens Strata's data layer on PostgreSQL or SQLite, chosen by
// the database URL, and migrates it.
//
//	db, err := strata.Open(ctx, "sqlite:strata.db") // or "postgres://app@db1/strata"
//	if err != nil { ... }
//	defer db.Close()
//	if err := strata.Migrate(ctx, db); err != nil { ... }
//	org, err := db.Orgs().GetBySlug(ctx, "acme")
//
// With read replicas (PostgreSQL), OpenCluster routes reads between them
// and the primary (see package scaling):
//
//	db, err := strata.OpenCluster(ctx, "postgres://app@db1/strata",
//		[]scaling.Replica{{Region: "eu", URL: "postgres://app@db-eu/strata"}},
//		scaling.Config{Region: "eu"})
//
// Everything above this package speaks only the interfaces of package repo.
package strata

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/repo/sqliterepo"
	"github.com/strata-go/strata/scaling"
)

// Open opens the database rawURL names and checks that it answers:
//
//	postgres://user@host:5432/db?sslmode=disable   PostgreSQL (also postgresql://)
//	sqlite:strata.db                               SQLite file, relative path
//	sqlite:///var/lib/strata/strata.db             SQLite file, absolute path
//	sqlite::memory:                                SQLite in memory (gone on Close)
//	file:strata.db                                 SQLite file, as sqlite:
//
// SQLite URLs take the query parameters readers=N (read-only connections)
// and busy_timeout=DURATION (e.g. 10s). Any other scheme is an ErrInvalid error.
func Open(ctx context.Context, rawURL string) (repo.DB, error) {
	dialect, err := DialectOf(rawURL)
	if err != nil {
		return nil, err
	}
	if dialect == repo.PostgreSQL {
		return pgrepo.Open(ctx, rawURL, pgrepo.Options{})
	}
	path, opts, err := parseSQLiteURL(rawURL)
	if err != nil {
		return nil, err
	}
	return sqliterepo.Open(ctx, path, opts)
}

// OpenCluster opens the database primaryURL names, as Open does, with reads
// routed by a scaling.Router tuned by cfg (see package scaling).
//
// On PostgreSQL the router spreads reads outside transactions over the
// replicas (postgres:// URLs, each with a region and weight) per the
// consistency of each read's context, and writes record consistency tokens
// in contexts made by scaling.WithTokenRecorder; cfg also tunes every
// node's pool. With no replicas every read goes to the primary, and the
// router still probes it and exports its metrics (see Metrics).
//
// On SQLite replicas must be empty: the database's pool of read-only
// connections is its replica, behind the same router, and satisfies every
// consistency mode; cfg's pool settings are ignored (use readers= in the
// URL).
func OpenCluster(ctx context.Context, primaryURL string, replicas []scaling.Replica, cfg scaling.Config) (repo.DB, error) {
	dialect, err := DialectOf(primaryURL)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, repo.Invalid("scaling", "%v", err)
	}
	if dialect == repo.SQLite {
		if len(replicas) > 0 {
			return nil, repo.Invalid("replicas", "SQLite has no replicas: its readers share the database file")
		}
		return Open(ctx, primaryURL)
	}
	for _, r := range replicas {
		if d, err := DialectOf(r.URL); err != nil || d != repo.PostgreSQL {
			return nil, repo.Invalid("replicas", "replica %q: want a postgres:// URL", redact(r.URL))
		}
	}
	return pgrepo.OpenCluster(ctx, primaryURL, replicas, cfg, pgrepo.Options{})
}

// RegisterMetrics registers db's metrics with reg, read at each scrape:
// routing per node (reads routed, errors, ejections, replay lag, pool
// statistics) and, on SQLite, the writer's group commits. A PostgreSQL
// database opened without OpenCluster has none.
func RegisterMetrics(reg prometheus.Registerer, db repo.DB) error {
	if m, ok := db.(interface {
		RegisterMetrics(prometheus.Registerer) error
	}); ok {
		return m.RegisterMetrics(reg)
	}
	return nil
}

// DialectOf returns the dialect a database URL names by its scheme.
func DialectOf(rawURL string) (repo.Dialect, error) {
	scheme, _, ok := strings.Cut(rawURL, ":")
	if ok {
		switch strings.ToLower(scheme) {
		case "postgres", "postgresql":
			return repo.PostgreSQL, nil
		case "sqlite", "sqlite3", "file":
			return repo.SQLite, nil
		}
	}
	return "", repo.Invalid("database url",
		"unsupported database URL %q: use postgres://..., postgresql://..., sqlite:PATH, sqlite::memory: or file:PATH", redact(rawURL))
}

// parseSQLiteURL splits a sqlite: or file: URL into a path and options.
func parseSQLiteURL(rawURL string) (string, sqliterepo.Options, error) {
	var opts sqliterepo.Options
	_, rest, _ := strings.Cut(rawURL, ":")
	rest, query, _ := strings.Cut(rest, "?")
	if strings.HasPrefix(rest, "//") {
		rest = rest[2:] // sqlite:///abs/path -> /abs/path, sqlite://rel -> rel
	}
	path, err := url.PathUnescape(rest)
	if err != nil || path == "" {
		return "", opts, repo.Invalid("database url", "missing SQLite file name (e.g. sqlite:strata.db)")
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return "", opts, repo.Invalid("database url", "malformed query: %v", err)
	}
	for key, vals := range params {
		v := vals[len(vals)-1]
		switch key {
		case "readers":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return "", opts, repo.Invalid("database url", "readers must be a positive integer")
			}
			opts.Readers = n
		case "busy_timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return "", opts, repo.Invalid("database url", "busy_timeout must be a duration such as 10s")
			}
			opts.BusyTimeout = d
		default:
			return "", opts, repo.Invalid("database url", "unknown SQLite parameter %q (known: readers, busy_timeout)", key)
		}
	}
	return path, opts, nil
}

// redact hides a password in a URL used in an error message.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err == nil {
		if u.User == nil {
			return rawURL
		}
		return u.Redacted()
	}
	// Unparsable: hide whatever lies between "://" and the last "@".
	if i := strings.Index(rawURL, "://"); i >= 0 {
		if j := strings.LastIndex(rawURL, "@"); j > i {
			return rawURL[:i+3] + "xxxxx" + rawURL[j:]
		}
	}
	return rawURL
}

// NewMigrator returns a migrator for db's schema, for the dialect db speaks.
// Close it when done; db stays open. On PostgreSQL, db rereads its unique
// keys after each Up or Down (see pgrepo.DB.LoadUniqueKeys).
func NewMigrator(db repo.DB) (*migrations.Migrator, error) {
	switch d := db.(type) {
	case *pgrepo.DB:
		m, err := migrations.New(repo.PostgreSQL, stdlib.OpenDBFromPool(d.Pool()))
		if err == nil {
			m.OnChange(func() error { return d.LoadUniqueKeys(context.Background()) })
		}
		return m, err
	case *sqliterepo.DB:
		return migrations.New(repo.SQLite, d.Writer())
	}
	return nil, fmt.Errorf("strata: cannot migrate a %T", db)
}

// Migrate applies every pending migration to db.
func Migrate(ctx context.Context, db repo.DB) error {
	m, err := NewMigrator(db)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up()
}
