package pgrepo

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-go/strata/repo"
)

// op says what kind of statement failed, which decides what a foreign-key
// violation means: a missing parent (insert, update) or a row still in use (delete).
type op int

const (
	opWrite op = iota
	opDelete
)

// mapErr maps a driver error of an insert, update or read about what (e.g.
// "project") to the repo vocabulary.
func mapErr(err error, what string) error { return mapErrOp(err, what, opWrite) }

// mapErrOp maps a driver error to the repo vocabulary by SQLSTATE, never by
// message text. The driver error stays reachable through errors.Unwrap.
func mapErrOp(err error, what string, o op) error {
	if err == nil {
		return nil
	}
	var re *repo.Error
	if errors.As(err, &re) {
		return err // already ours
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &repo.Error{Kind: repo.ErrUnavailable, Message: what + ": " + err.Error(), Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		e := fromSQLState(pgErr, what, o)
		if v := (*uniqueViolation)(nil); errors.As(err, &v) {
			e.Field = v.field // see unique.go
		}
		return e
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	// A connection that died without a word (the server crashed, the
	// network cut it) ends in EOF; a statement on one pgx already closed
	// fails with ErrConnClosed.
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, pgconn.ErrConnClosed) {
		return &repo.Error{Kind: repo.ErrUnavailable, Message: "database unavailable", Err: err}
	}
	return &repo.Error{Kind: repo.ErrInternal, Message: what + ": unexpected database error", Err: err}
}

// fromSQLState maps a PostgreSQL error to the repo vocabulary; a unique
// violation's Field is left to the caller (see unique.go).
func fromSQLState(pgErr *pgconn.PgError, what string, o op) *repo.Error {
	e := &repo.Error{Err: pgErr}
	switch code := pgErr.Code; {
	case code == "23505": // unique_violation
		e.Kind, e.Message = repo.ErrConflict, what+" already exists"
	case code == "23503": // foreign_key_violation
		if o == opDelete {
			e.Kind, e.Message = repo.ErrConflict, what+" is still in use"
		} else {
			e.Kind, e.Message = repo.ErrNotFound, "referenced "+referencedThing(pgErr.ConstraintName)+" not found"
		}
	case code == "23514", code == "23502", code == "22001", code == "22P02", code == "22021", code == "22023":
		// check, not null, string too long, invalid text, bad encoding, invalid parameter
		e.Kind, e.Message = repo.ErrInvalid, what+": value rejected by the database"
		e.Field = checkField(pgErr.ConstraintName, pgErr.ColumnName)
	case code == "40001", code == "40P01", code == "55P03":
		// serialization_failure, deadlock_detected, lock_not_available
		e.Kind, e.Message, e.Retryable = repo.ErrConflict, "concurrent update, try again", true
	case code == "23000": // integrity_constraint_violation (the append-only audit trigger)
		e.Kind, e.Message = repo.ErrConflict, what+": refused by the database"
	case code[:2] == "08", code == "57P01", code == "57P02", code == "57P03", code == "53300", code == "53000":
		// connection exceptions, admin/crash shutdown, cannot connect now, too many connections
		e.Kind, e.Message = repo.ErrUnavailable, "database unavailable"
	case code == "25006": // read_only_sql_transaction: a standby, or a demoted primary behind a proxy
		e.Kind, e.Message = repo.ErrUnavailable, "database unavailable: the server takes no writes (a failover?)"
	case code == "57014": // query_canceled (statement timeout)
		e.Kind, e.Message = repo.ErrUnavailable, what+": query canceled"
	default:
		e.Kind, e.Message = repo.ErrInternal, what+": unexpected database error"
	}
	return e
}
