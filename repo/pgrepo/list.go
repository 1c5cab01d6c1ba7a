package pgrepo

import (
	"context"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// listByID runs one keyset-paginated query over rows ordered by a UUID key:
// fetch(after, size+1) returns driver rows, conv maps each, key names a row
// for the next cursor.
func listByID[R, T any](ctx context.Context, list string, page repo.PageRequest,
	fetch func(after uuid.UUID, lim int32) ([]R, error), conv func(R) T, key func(T) uuid.UUID,
) (repo.Page[T], error) {
	size, after, err := repo.UUIDPage(list, page)
	if err != nil {
		return repo.Page[T]{}, err
	}
	rows, err := fetch(after, int32(size+1))
	if err != nil {
		return repo.Page[T]{}, mapErr(err, list)
	}
	return repo.MakeUUIDPage(list, convertAll(rows, conv), size, key), nil
}

// convertAll maps driver rows to domain values; never returns nil.
func convertAll[R, T any](rows []R, conv func(R) T) []T {
	out := make([]T, len(rows))
	for i, row := range rows {
		out[i] = conv(row)
	}
	return out
}
