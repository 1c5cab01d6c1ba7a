package sqliterepo_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/internal/auditbench"
)

// The bare table of BenchmarkAuditEventCost: the event's columns and nothing
// else.
const (
	benchBareEventsSQL = `CREATE TABLE bench_bare_events (org_id TEXT, seq INTEGER, id TEXT, occurred_at TEXT,
    actor_type TEXT, actor_id TEXT, action TEXT, target_type TEXT, target_id TEXT, outcome TEXT,
    metadata TEXT, remote_addr TEXT, request_id TEXT, prev_hash BLOB, hash BLOB)`
	benchInsertBareSQL = `INSERT INTO bench_bare_events (` + auditbench.Columns + `)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)`
)

// BenchmarkAuditEventCost splits what an audit event adds to a small write
// transaction on SQLite, in memory and in a WAL file (see
// auditbench.EventCost). The driver side is database/sql on the adapter's
// writer connection, with its statements prepared once, as the adapter's.
func BenchmarkAuditEventCost(b *testing.B) {
	for _, where := range []string{"memory", "file"} {
		b.Run(where, func(b *testing.B) {
			path := ":memory:"
			if where == "file" {
				path = benchFile(b)
			}
			db, _, _ := benchOpen(b, path, 0)
			ctx := context.Background()
			writer := db.Writer()
			if _, err := writer.ExecContext(ctx, benchBareEventsSQL); err != nil {
				b.Fatal(err)
			}
			stmts := map[string]*sql.Stmt{}
			for _, q := range []string{benchCreateSQL, benchInsertBareSQL, benchInsertEventSQL} {
				stmts[q] = benchPrepare(b, writer, q)
			}
			raw := func(id, org uuid.UUID, name string, now time.Time, insert string, ev *auditbench.Event) error {
				at := now.UTC().Format(benchTimeLayout)
				tx, err := writer.BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				defer tx.Rollback()
				if _, err := benchScanRow(tx.StmtContext(ctx, stmts[benchCreateSQL]).QueryRowContext(ctx,
					id, org, name, "", at, at)); err != nil {
					return err
				}
				if insert != "" {
					if _, err := tx.StmtContext(ctx, stmts[insert]).ExecContext(ctx, ev.Args(at)...); err != nil {
						return err
					}
				}
				return tx.Commit()
			}
			auditbench.EventCost(b, db, raw, benchInsertBareSQL, benchInsertEventSQL)
		})
	}
}
