package sqliterepo_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/internal/benchcmp"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

// The statements of db/sqlite/projects.sql.go, byte for byte
// (TestBenchSQLIsGenerated keeps them in step).
const (
	benchGetSQL = `-- name: GetProject :one
SELECT id, org_id, name, description, created_at, updated_at FROM projects WHERE org_id = ?1 AND id = ?2
`
	benchListSQL = `-- name: ListProjects :many
SELECT id, org_id, name, description, created_at, updated_at FROM projects
WHERE org_id = ?1 AND id > ?2
ORDER BY id
LIMIT ?3
`
	benchCreateSQL = `-- name: CreateProject :one
INSERT INTO projects (id, org_id, name, description, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
RETURNING id, org_id, name, description, created_at, updated_at
`
	benchUpdateSQL = `-- name: UpdateProject :one
UPDATE projects
SET name = coalesce(?1, name),
    description = coalesce(?2, description),
    updated_at = ?3
WHERE org_id = ?4 AND id = ?5
RETURNING id, org_id, name, description, created_at, updated_at
`
)

func TestBenchSQLIsGenerated(t *testing.T) {
	const projects = "../../db/sqlite/projects.sql.go"
	benchcmp.CheckStatements(t,
		benchcmp.Statement{File: projects, Name: "getProject", SQL: benchGetSQL},
		benchcmp.Statement{File: projects, Name: "listProjects", SQL: benchListSQL},
		benchcmp.Statement{File: projects, Name: "createProject", SQL: benchCreateSQL},
		benchcmp.Statement{File: projects, Name: "updateProject", SQL: benchUpdateSQL})
}

const (
	benchProjects = 10_000 // projects the layer benchmarks' org starts with
	benchPageSize = 100    // the page the List benchmark reads
	// benchTimeLayout is how the schema stores times (fixed width, UTC, so
	// that text order is time order); hand-written code must write and read
	// the same.
	benchTimeLayout = "2006-01-02T15:04:05.000000Z"
)

// benchRow is what the hand-written side makes of a row: the same fields
// as repo.Project, times parsed.
type benchRow struct {
	ID, OrgID         uuid.UUID
	Name, Description string
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// benchText is a projects row as the driver returns it: times are text.
type benchText struct {
	ID, OrgID                               uuid.UUID
	Name, Description, CreatedAt, UpdatedAt string
}

func (t *benchText) dest() []any {
	return []any{&t.ID, &t.OrgID, &t.Name, &t.Description, &t.CreatedAt, &t.UpdatedAt}
}

// row parses the times.
func (t *benchText) row() (benchRow, error) {
	created, err := time.Parse(benchTimeLayout, t.CreatedAt)
	if err != nil {
		return benchRow{}, err
	}
	updated, err := time.Parse(benchTimeLayout, t.UpdatedAt)
	return benchRow{ID: t.ID, OrgID: t.OrgID, Name: t.Name, Description: t.Description, CreatedAt: created, UpdatedAt: updated}, err
}

// benchScanRow reads a projects row as the raw side does.
func benchScanRow(r *sql.Row) (benchRow, error) {
	var t benchText
	if err := r.Scan(t.dest()...); err != nil {
		return benchRow{}, err
	}
	return t.row()
}

// benchPrepare prepares query on the pool db, for the life of the benchmark.
func benchPrepare(b *testing.B, db *sql.DB, query string) *sql.Stmt {
	b.Helper()
	stmt, err := db.PrepareContext(context.Background(), query)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stmt.Close() })
	return stmt
}

// benchFile is a database file for one benchmark: WAL, one writer
// connection and a pool of readers, as in production.
func benchFile(b *testing.B) string { return filepath.Join(b.TempDir(), "bench.db") }

// benchOpen opens a migrated database at path (a file, or ":memory:"), with
// one org of n projects, and returns the org and the projects' IDs in a
// fixed order.
func benchOpen(b *testing.B, path string, n int) (*sqliterepo.DB, uuid.UUID, []uuid.UUID) {
	b.Helper()
	ctx := context.Background()
	db, err := sqliterepo.Open(ctx, path, sqliterepo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := strata.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	o, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "bench", Name: "Bench"})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]uuid.UUID, n)
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format(benchTimeLayout)
	for i := range ids {
		ids[i] = uuid.New()
		if _, err := tx.ExecContext(ctx, `INSERT INTO projects (id, org_id, name, description, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?)`, ids[i], o.ID, "seed-"+strconv.Itoa(i), "seeded project number "+strconv.Itoa(i), now, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Writer().ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return db, o.ID, ids
}

// BenchmarkLayerSQLite compares each repository operation with
// hand-written database/sql code running the same statement on the same
// connection pools (the adapter's Reader and Writer); see package
// internal/benchcmp for how the two sides alternate.
func BenchmarkLayerSQLite(b *testing.B) {
	ctx := context.Background()
	db, org, ids := benchOpen(b, benchFile(b), benchProjects)
	writer := db.Writer()
	// The adapter reads through statements prepared once on the reader
	// pool (sqlitescale.Reader), and writes outside transactions with
	// unprepared statements on the writer: so does the raw side.
	getStmt := benchPrepare(b, db.Reader(), benchGetSQL)
	listStmt := benchPrepare(b, db.Reader(), benchListSQL)
	// pick walks ids in a scattered order, the same for both sides.
	pick := func(i int) uuid.UUID { return ids[(i*7919)%len(ids)] }
	descs := make([]string, 64)
	for i := range descs {
		descs[i] = "updated description " + strconv.Itoa(i)
	}
	var sink benchRow

	s := benchcmp.NewSuite("sqlite")
	s.Compare(b, "Get",
		func(i int) error {
			p, err := db.Projects().Get(ctx, org, pick(i))
			sink.Name = p.Name
			return err
		},
		func(i int) error {
			p, err := benchScanRow(getStmt.QueryRowContext(ctx, org, pick(i)))
			sink.Name = p.Name
			return err
		})

	s.Compare(b, "List100",
		func(int) error {
			page, err := db.Projects().List(ctx, org, repo.PageRequest{Limit: benchPageSize})
			if err == nil && (len(page.Items) != benchPageSize || page.Next == "") {
				err = fmt.Errorf("strata: page of %d, next %q", len(page.Items), page.Next)
			}
			return err
		},
		func(int) error {
			// One row more than the page tells whether there is a next
			// page, as the repository asks for.
			rows, err := listStmt.QueryContext(ctx, org, uuid.Nil, int64(benchPageSize+1))
			if err != nil {
				return err
			}
			defer rows.Close()
			var items []benchRow
			for rows.Next() {
				var t benchText
				if err := rows.Scan(t.dest()...); err != nil {
					return err
				}
				p, err := t.row()
				if err != nil {
					return err
				}
				items = append(items, p)
			}
			// Close reports what the driver found while finishing the
			// statement, as the database/sql documentation recommends
			// checking (and as the generated code does).
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if len(items) != benchPageSize+1 {
				return fmt.Errorf("raw: %d rows", len(items))
			}
			items = items[:benchPageSize]
			sink.Name = items[0].Name
			return nil
		})

	// Each side names its projects from its own counter: names are unique
	// in the org.
	var createdS, createdR int
	s.Compare(b, "Create",
		func(i int) error {
			createdS++
			_, err := db.Projects().Create(ctx, org, repo.NewProject{
				Name: "strata-" + strconv.Itoa(createdS), Description: descs[i%len(descs)],
			})
			return err
		},
		func(i int) error {
			createdR++
			now := time.Now().UTC().Format(benchTimeLayout)
			_, err := benchScanRow(writer.QueryRowContext(ctx, benchCreateSQL, uuid.Must(uuid.NewV7()), org,
				"raw-"+strconv.Itoa(createdR), descs[i%len(descs)], now, now))
			return err
		})

	s.Compare(b, "Update",
		func(i int) error {
			_, err := db.Projects().Update(ctx, org, pick(i), repo.ProjectUpdate{Description: &descs[i%len(descs)]})
			return err
		},
		func(i int) error {
			_, err := benchScanRow(writer.QueryRowContext(ctx, benchUpdateSQL, (*string)(nil), &descs[i%len(descs)],
				time.Now().UTC().Format(benchTimeLayout), org, pick(i)))
			return err
		})

	s.Print()
}
