package pgrepo_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/strata-go/strata/internal/auditbench"
)

// The bare table of BenchmarkAuditEventCost: the event's columns and nothing
// else.
const (
	benchBareEventsSQL = `CREATE TABLE bench_bare_events (org_id uuid, seq bigint, id uuid, occurred_at timestamptz,
    actor_type text, actor_id text, action text, target_type text, target_id text, outcome text,
    metadata text, remote_addr text, request_id text, prev_hash bytea, hash bytea)`
	benchInsertBareSQL = `INSERT INTO bench_bare_events (` + auditbench.Columns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
)

// BenchmarkAuditEventCost splits what an audit event adds to a small write
// transaction on PostgreSQL (see auditbench.EventCost). The driver side is
// pgx on the adapter's pool and, as the adapter does, sends the event's
// INSERT in one pipeline with the COMMIT: a round trip of its own would cost
// the audited transaction more than the event itself.
func BenchmarkAuditEventCost(b *testing.B) {
	ctx := context.Background()
	db := benchOpen(b)
	pool := db.Pool()
	if _, err := pool.Exec(ctx, benchBareEventsSQL); err != nil {
		b.Fatal(err)
	}
	raw := func(id, org uuid.UUID, name string, now time.Time, insert string, ev *auditbench.Event) (err error) {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
			return err
		}
		defer func() {
			if err != nil {
				_, _ = conn.Exec(ctx, "ROLLBACK")
			}
		}()
		var p benchRow
		if err := conn.QueryRow(ctx, benchCreateSQL, id, org, name, "", now, now).Scan(p.dest()...); err != nil {
			return err
		}
		var batch pgx.Batch
		if insert != "" {
			batch.Queue(insert, ev.Args(now)...)
		}
		batch.Queue("COMMIT")
		return conn.SendBatch(ctx, &batch).Close()
	}
	auditbench.EventCost(b, db, raw, benchInsertBareSQL, benchInsertEventSQL)
}
