package sqliterepo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/internal/constraint"
)

// op says what kind of statement failed, which decides what a foreign key
// violation means.
type op int

const (
	opWrite  op = iota // an insert or update: a referenced row is missing
	opDelete           // a delete: the row is still referenced
)

// mapErr maps an error of a read, insert or update about what (e.g.
// "project") to the repo vocabulary.
func mapErr(err error, what string) error { return mapOpErr(err, what, opWrite) }

// mapDeleteErr maps an error of a delete about what to the repo vocabulary.
func mapDeleteErr(err error, what string) error { return mapOpErr(err, what, opDelete) }

// mapOpErr maps err to the repo vocabulary: by result code for SQLite's
// errors, never by message text. nil stays nil, a *repo.Error is returned as
// it is, and the cause stays reachable through errors.Unwrap.
func mapOpErr(err error, what string, o op) error {
	var re *repo.Error
	var se *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return repo.NotFound(what)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &repo.Error{Kind: repo.ErrUnavailable, Message: what + ": " + err.Error(), Err: err}
	case errors.As(err, &se):
		return codeError(se.Code(), what, o, err)
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone):
		return &repo.Error{Kind: repo.ErrUnavailable, Message: "database unavailable", Err: err}
	}
	return &repo.Error{Kind: repo.ErrInternal, Message: what + ": unexpected database error", Err: err}
}

// codeError maps an SQLite extended result code (https://sqlite.org/rescode.html)
// of a failed statement about what to the repo vocabulary, with cause as Err.
func codeError(code int, what string, o op, cause error) *repo.Error {
	e := &repo.Error{Kind: repo.ErrInternal, Message: what + ": unexpected database error", Err: cause}
	switch code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		e.Kind, e.Message = repo.ErrConflict, what+" already exists"
		e.Field = constraint.Field(violatedKey(cause.Error()))
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		if o == opDelete {
			e.Kind, e.Message = repo.ErrConflict, what+" is still in use"
		} else {
			e.Kind, e.Message = repo.ErrNotFound, what+": referenced row not found"
		}
	case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
		e.Kind, e.Message = repo.ErrInvalid, what+": value rejected by the database"
	case sqlite3.SQLITE_CONSTRAINT_TRIGGER: // the append-only audit triggers
		e.Kind, e.Message = repo.ErrConflict, what+": refused by the database"
	default:
		switch code & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			e.Kind, e.Message, e.Retryable = repo.ErrUnavailable, "database is busy, try again", true
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			e.Kind, e.Message = repo.ErrUnavailable, "database unavailable"
		}
	}
	return e
}

// violatedKey returns what the message of a UNIQUE or PRIMARY KEY violation
// says of the violated key, or the zero Key when it says nothing readable.
// The result code says a key was violated; SQLite says which only in the
// message (no API gives a constraint's name), in one fixed form:
// "UNIQUE constraint failed: " and then "index 'NAME'" for an index on
// expressions, or the key's columns, "table.col, table.col", for any
// other key. The driver adds its own words around it
// ("constraint failed: ... (2067)").
func violatedKey(msg string) constraint.Key {
	_, key, ok := strings.Cut(msg, "UNIQUE constraint failed: ")
	if !ok {
		return constraint.Key{}
	}
	key, _, _ = strings.Cut(key, " (")
	if name, ok := strings.CutPrefix(key, "index '"); ok {
		return constraint.Key{Name: strings.TrimSuffix(name, "'")}
	}
	var k constraint.Key
	for col := range strings.SplitSeq(key, ", ") {
		t, c, ok := strings.Cut(col, ".")
		if !ok || (k.Table != "" && t != k.Table) {
			return constraint.Key{}
		}
		k.Table, k.Columns = t, append(k.Columns, c)
	}
	return k
}
