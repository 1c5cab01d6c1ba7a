// Package migrations holds Strata's schema as golang-migrate files, one folder per
// dialect, embedded so the binary can migrate a database on its own.
//
// The folders are also the schema sqlc compiles the queries against, and the
// official migrate CLI applies them as they are:
//
//	migrate -path migrations/pg -database "postgres://..." up
//	migrate -path migrations/sqlite -database "sqlite://strata.db" up
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed pg/*.sql sqlite/*.sql
var files embed.FS

// PostgreSQL returns the PostgreSQL migrations (the contents of migrations/pg).
func PostgreSQL() fs.FS { return sub("pg") }

// SQLite returns the SQLite migrations (the contents of migrations/sqlite).
func SQLite() fs.FS { return sub("sqlite") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded above; this cannot fail
	}
	return f
}
