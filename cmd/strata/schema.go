package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling"
)

// openDB opens the database and makes sure its schema is the one this binary
// speaks: SQLite is migrated (an embedded file is ours to manage), PostgreSQL
// only when migrate is set; a PostgreSQL schema that is behind is an error.
func openDB(ctx context.Context, url string, migrate bool, log *slog.Logger) (repo.DB, error) {
	return openCluster(ctx, url, nil, scaling.Config{}, migrate, log)
}

// openCluster is openDB with read replicas and routing configuration.
func openCluster(ctx context.Context, url string, replicas []scaling.Replica, cfg scaling.Config, migrate bool, log *slog.Logger) (repo.DB, error) {
	db, err := strata.OpenCluster(ctx, url, replicas, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := prepareSchema(ctx, db, migrate, log); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func prepareSchema(ctx context.Context, db repo.DB, migrate bool, log *slog.Logger) error {
	m, err := strata.NewMigrator(db)
	if err != nil {
		return err
	}
	defer m.Close()
	current, dirty, err := m.Version()
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	latest, err := migrations.Latest(db.Dialect())
	if err != nil {
		return err
	}
	switch {
	case dirty:
		return fmt.Errorf("schema version %d is dirty (a migration failed half-way): fix it, then run 'strata migrate force %d'", current, current)
	case current == latest:
		return nil
	case current > latest:
		return fmt.Errorf("schema version %d is newer than this binary knows (%d): upgrade strata", current, latest)
	case db.Dialect() == repo.PostgreSQL && !migrate:
		return fmt.Errorf("schema version %d is behind %d: run 'strata migrate up' or serve with --migrate", current, latest)
	}
	log.Info("migrating schema", "from", current, "to", latest, "dialect", db.Dialect())
	return m.Up()
}

// sealQueued seals the audit events the command queued (on PostgreSQL), so
// that they are in their chains when it exits, whether or not a server is
// running; should it fail, the next sealer to run seals them.
func sealQueued(db repo.DB, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := audit.NewSealer(db.AuditEvents(), audit.SealerOptions{}).SealAll(ctx); err != nil {
		log.Warn("sealing the audit events failed; the next process to run a sealer (strata serve) seals them", "err", err)
	}
}
