package pgrepo

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo/internal/constraint"
)

// A unique violation names the violated key and no more (ConstraintName);
// which input field it is about comes from the key's columns (package
// constraint), which only the catalog knows, and the transaction of the
// violation is aborted: it cannot ask. So a DB reads every unique key's
// field from the catalog up front (uniqueKeys), at Open and again after
// each migration (LoadUniqueKeys), and its Store's statements run on a
// DBTX (fieldNaming) that puts the field on the error of a violation, for
// fromSQLState to find (uniqueViolation).

// uniqueKeys holds the field of each unique key of the schema's tables, by
// the key's name; shared by a DB and its transactions.
type uniqueKeys struct {
	fields atomic.Pointer[map[string]string]
}

// field returns the field of the key called name, or "" for a key not
// known (added by a migration run since the DB last loaded its keys, say).
func (k *uniqueKeys) field(name string) string {
	if m := k.fields.Load(); m != nil {
		return (*m)[name]
	}
	return ""
}

// uniqueKeysSQL lists the unique keys (primary keys, UNIQUE constraints,
// unique indexes) of the tables of the current schema, each with its table
// and its key columns in order, a NULL standing for an expression.
const uniqueKeysSQL = `
SELECT i.relname, t.relname,
       array(SELECT a.attname
             FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
             LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
             WHERE k.n <= x.indnkeyatts
             ORDER BY k.n)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
WHERE x.indisunique AND t.relnamespace = current_schema()::regnamespace`

// load reads the unique keys of the schema from the catalog through q.
func (k *uniqueKeys) load(ctx context.Context, q pgdb.DBTX) error {
	rows, err := q.Query(ctx, uniqueKeysSQL)
	if err != nil {
		return err
	}
	fields := map[string]string{}
	var key constraint.Key
	var cols []*string
	_, err = pgx.ForEachRow(rows, []any{&key.Name, &key.Table, &cols}, func() error {
		key.Columns = nil
		for _, c := range cols {
			if c == nil { // an expression
				key.Columns = nil
				break
			}
			key.Columns = append(key.Columns, *c)
		}
		fields[key.Name] = constraint.Field(key)
		return nil
	})
	if err != nil {
		return err
	}
	k.fields.Store(&fields)
	return nil
}

// LoadUniqueKeys reads again which unique keys the schema has, for naming
// the field of a violation of one (repo.Error.Field). Open does it, and so
// does a migration through strata.Migrate or strata.NewMigrator; call it
// after changing the schema by other means while the DB is open.
func (db *DB) LoadUniqueKeys(ctx context.Context) error {
	return mapErr(db.keys.load(ctx, db.pool), "database")
}

// uniqueViolation is the error of a unique violation, with the input field
// the violated key is about.
type uniqueViolation struct {
	err   error // its *pgconn.PgError is the violation
	field string
}

func (v *uniqueViolation) Error() string { return v.err.Error() }
func (v *uniqueViolation) Unwrap() error { return v.err }

// named returns err, or, when it is a unique violation, a uniqueViolation
// wrapping it.
func (k *uniqueKeys) named(err error) error {
	if err == nil {
		return nil // before pgErr, which escapes: no allocation on success
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return err
	}
	return &uniqueViolation{err: err, field: k.field(pgErr.ConstraintName)}
}

// fieldNaming runs statements on db and names the field of a violated
// unique key on the error (see uniqueKeys.named).
type fieldNaming struct {
	db   pgdb.DBTX
	keys *uniqueKeys
}

// naming returns q's statements with the field of a violated unique key
// named on their errors.
func (k *uniqueKeys) naming(q pgdb.DBTX) *pgdb.Queries { return pgdb.New(fieldNaming{q, k}) }

func (f fieldNaming) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := f.db.Exec(ctx, sql, args...)
	return tag, f.keys.named(err)
}

func (f fieldNaming) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := f.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, f.keys.named(err)
	}
	return namingRows{rows, f.keys}, nil
}

func (f fieldNaming) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return namingRow{f.db.QueryRow(ctx, sql, args...), f.keys}
}

func (f fieldNaming) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	n, err := f.db.CopyFrom(ctx, table, cols, src)
	return n, f.keys.named(err)
}

// namingRow is a pgx.Row that names the field of a violated unique key on
// its error.
type namingRow struct {
	pgx.Row
	keys *uniqueKeys
}

func (r namingRow) Scan(dest ...any) error { return r.keys.named(r.Row.Scan(dest...)) }

// namingRows is a pgx.Rows that names the field of a violated unique key
// on its error.
type namingRows struct {
	pgx.Rows
	keys *uniqueKeys
}

func (r namingRows) Err() error { return r.keys.named(r.Rows.Err()) }
