package migrations

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	sqlitemigrate "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/strata-go/strata/repo"
)

// Migrator applies one dialect's embedded migrations to one database.
type Migrator struct {
	m       *migrate.Migrate
	dialect repo.Dialect
	changed func() error // see OnChange
}

// OnChange makes Up and Down call fn once they are done, whether or not
// they succeeded (a failed migration may have changed the schema part of
// the way); fn's error joins theirs. strata.NewMigrator has a PostgreSQL
// database reread its unique keys so (pgrepo.DB.LoadUniqueKeys).
func (m *Migrator) OnChange(fn func() error) { m.changed = fn }

// done returns err joined with the error of the OnChange function, if any.
func (m *Migrator) done(err error) error {
	if m.changed == nil {
		return err
	}
	return errors.Join(err, m.changed())
}

// New returns a Migrator for db, an open database of the given dialect. On
// PostgreSQL the Migrator holds one connection of db until Close, which also
// closes db, so give it a *sql.DB of its own (e.g. stdlib.OpenDBFromPool); on
// SQLite it uses db as it is and Close leaves db open.
func New(dialect repo.Dialect, db *sql.DB) (*Migrator, error) {
	var (
		files  fs.FS
		driver database.Driver
		err    error
	)
	switch dialect {
	case repo.PostgreSQL:
		files = PostgreSQL()
		driver, err = pgxmigrate.WithInstance(db, &pgxmigrate.Config{})
	case repo.SQLite:
		files = SQLite()
		driver, err = sqlitemigrate.WithInstance(db, &sqlitemigrate.Config{})
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", dialect)
	}
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	src, err := iofs.New(files, ".")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, string(dialect), driver)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{m: m, dialect: dialect}, nil
}

// Close releases the Migrator's connection (see New).
func (m *Migrator) Close() error {
	if m.dialect != repo.PostgreSQL {
		return nil // the sqlite driver's Close would close the caller's db
	}
	srcErr, dbErr := m.m.Close()
	return errors.Join(srcErr, dbErr)
}

// Up applies every migration not yet applied. Nothing to do is not an error.
func (m *Migrator) Up() error { return m.done(noChange(m.m.Up())) }

// Down rolls back n migrations; n <= 0 rolls back all of them.
func (m *Migrator) Down(n int) error {
	if n <= 0 {
		return m.done(noChange(m.m.Down()))
	}
	return m.done(noChange(m.m.Steps(-n)))
}

// Version returns the current schema version (0 for an empty database) and
// whether a failed migration left it dirty.
func (m *Migrator) Version() (version uint, dirty bool, err error) {
	v, d, err := m.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	return v, d, err
}

// Latest returns the version of the newest embedded migration.
func Latest(dialect repo.Dialect) (uint, error) {
	files := PostgreSQL()
	if dialect == repo.SQLite {
		files = SQLite()
	}
	src, err := iofs.New(files, ".")
	if err != nil {
		return 0, err
	}
	defer src.Close()
	v, err := src.First()
	for err == nil {
		next, nerr := src.Next(v)
		if nerr != nil {
			break
		}
		v = next
	}
	return v, err
}

// Force sets the recorded version without running anything, clearing the
// dirty flag: the way out after fixing a failed migration by hand.
func (m *Migrator) Force(version int) error { return m.m.Force(version) }

func noChange(err error) error {
	if errors.Is(err, migrate.ErrNoChange) {
		return nil
	}
	return err
}
