package pgscale

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// CopyFrom bulk-loads rows with COPY on the primary: it is a write, so it
// is never routed to a replica. It completes the sqlc DBTX interface (a
// :copyfrom query); it is the same as Writer's CopyFrom.
func (c *Cluster) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error) {
	return c.Writer().CopyFrom(ctx, table, columns, rows)
}

// CopyFrom bulk-loads rows with COPY on the primary and, when it succeeds,
// records a consistency token as Exec does.
func (w Writer) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error) {
	n, err := w.c.primary.CopyFrom(ctx, table, columns, rows)
	if err == nil {
		w.c.RecordToken(ctx)
	}
	return n, err
}
