package dbtrace_test

import (
	"testing"

	"github.com/strata-go/strata/internal/dbtrace"
)

func TestName(t *testing.T) {
	for sql, want := range map[string]string{
		"-- name: CreateProject :one\nINSERT INTO projects ...": "CreateProject",
		"  -- name: ListGrants :many\nSELECT 1":                 "ListGrants",
		"begin":                                                 "begin",
		"COMMIT":                                                "commit",
		"savepoint strata":                                      "savepoint",
		"SELECT pg_current_wal_insert_lsn()::text":              "select",
		"select(1)":                                             "select",
		"":                                                      "statement",
	} {
		if got := dbtrace.Name(sql); got != want {
			t.Errorf("Name(%q) = %q, want %q", sql, got, want)
		}
	}
}
