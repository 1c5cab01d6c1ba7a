package pgrepo

import (
	"context"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// listByID is fillByID for a conversion that returns the domain value.
func listByID[R, T any](ctx context.Context, list string, page repo.PageRequest,
	fetch func(after uuid.UUID, lim int32) ([]R, error), conv func(R) T, key func(T) uuid.UUID,
) (repo.Page[T], error) {
	return fillByID(ctx, list, page, fetch, func(dst *T, row *R) { *dst = conv(*row) }, key)
}

// fillByID runs one keyset-paginated query over rows ordered by a UUID key:
// fetch(after, size+1) returns driver rows, fill sets each item of the page
// from its row, and key names an item for the next cursor.
//
// fill writes in place because with wide rows the copies show: for a page
// of 100 projects, filling in place takes about 0.6 µs, a conversion that
// returns values (the row copied in, the value out, then into the slice)
// 2-4 µs, and the raw pgx query itself about 210 µs. What remains over raw
// pgx is the page's own slice (12 KB for 100 projects) beside the one sqlc
// returns, and the garbage collection it brings: about 3% of a List100.
func fillByID[R, T any](ctx context.Context, list string, page repo.PageRequest,
	fetch func(after uuid.UUID, lim int32) ([]R, error), fill func(dst *T, row *R), key func(T) uuid.UUID,
) (repo.Page[T], error) {
	size, after, err := repo.UUIDPage(list, page)
	if err != nil {
		return repo.Page[T]{}, err
	}
	rows, err := fetch(after, int32(size+1))
	if err != nil {
		return repo.Page[T]{}, mapErr(err, list)
	}
	items := make([]T, len(rows))
	for i := range items {
		fill(&items[i], &rows[i])
	}
	return repo.MakeUUIDPage(list, items, size, key), nil
}

// convertAll maps driver rows to domain values; never returns nil.
func convertAll[R, T any](rows []R, conv func(R) T) []T {
	out := make([]T, len(rows))
	for i, row := range rows {
		out[i] = conv(row)
	}
	return out
}
