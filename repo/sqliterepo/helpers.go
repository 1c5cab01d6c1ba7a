package sqliterepo

import (
	"database/sql"
	"errors"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// one finishes a query that returns one row about what: it maps err (no row
// is repo.NotFound(what)) or converts the row.
func one[R, T any](row R, err error, what string, convert func(R) (T, error)) (T, error) {
	if err != nil {
		var zero T
		return zero, mapErr(err, what)
	}
	return convert(row)
}

// convertAll converts rows; the result is never nil.
func convertAll[R, T any](rows []R, convert func(R) (T, error)) ([]T, error) {
	items := make([]T, 0, len(rows))
	for _, row := range rows {
		item, err := convert(row)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

// toPage finishes a keyset-paginated query of the list named list that
// asked for size+1 rows: it maps err, or converts the rows and makes the
// page, naming the last item's key with key.
func toPage[R, T any](list string, size int, rows []R, err error, convert func(R) (T, error), key func(T) string) (repo.Page[T], error) {
	items, err := fetched(list, rows, err, convert)
	if err != nil {
		return repo.Page[T]{}, err
	}
	return repo.MakePage(list, items, size, key), nil
}

// fetched finishes a list query: it maps its error, or converts its rows.
func fetched[R, T any](list string, rows []R, err error, convert func(R) (T, error)) ([]T, error) {
	if err != nil {
		return nil, mapErr(err, list)
	}
	return convertAll(rows, convert)
}

// listByID runs one page of a list keyed by UUID: fetch(after, limit)
// queries the rows, convert converts one and id returns an item's key.
func listByID[R, T any](list string, page repo.PageRequest, fetch func(after uuid.UUID, limit int64) ([]R, error),
	convert func(R) (T, error), id func(T) uuid.UUID) (repo.Page[T], error) {
	size, after, err := repo.UUIDPage(list, page)
	if err != nil {
		return repo.Page[T]{}, err
	}
	rows, err := fetch(after, int64(size)+1)
	items, err := fetched(list, rows, err, convert)
	if err != nil {
		return repo.Page[T]{}, err
	}
	return repo.MakeUUIDPage(list, items, size, id), nil
}

// deleted finishes an :execrows statement that deletes, revokes or
// soft-deletes one row about what: no row changed is repo.NotFound(what).
func deleted(n int64, err error, what string) error {
	if err != nil {
		return mapDeleteErr(err, what)
	}
	if n == 0 {
		return repo.NotFound(what)
	}
	return nil
}

// firstErr returns the first non-nil error: for running validators in order.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// errNoRows reports whether err says a query returned no row.
func errNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
