package pgrepo

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// nopDBTX answers every statement at once, with no error: what is left of
// a statement's time is the layer's own.
type nopDBTX struct{}

func (nopDBTX) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, nil
}
func (nopDBTX) Query(context.Context, string, ...any) (pgx.Rows, error) { return nil, nil }
func (nopDBTX) QueryRow(context.Context, string, ...any) pgx.Row        { return nopRow{} }
func (nopDBTX) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, nil
}

type nopRow struct{}

func (nopRow) Scan(...any) error { return nil }

// BenchmarkFieldNaming measures what naming the field of a unique
// violation (fieldNaming, see unique.go) adds to a statement that returns
// a row, as every Create and Update does: compare with the same statement
// on the bare DBTX.
func BenchmarkFieldNaming(b *testing.B) {
	ctx := context.Background()
	for _, bb := range []struct {
		name string
		db   interface {
			QueryRow(context.Context, string, ...any) pgx.Row
		}
	}{
		{"bare", nopDBTX{}},
		{"naming", fieldNaming{nopDBTX{}, &uniqueKeys{}}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bb.db.QueryRow(ctx, "select").Scan(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
