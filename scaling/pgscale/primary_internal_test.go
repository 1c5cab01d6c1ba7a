package pgscale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestPrimaryLost(t *testing.T) {
	pgErr := func(code string) error { return fmt.Errorf("insert: %w", &pgconn.PgError{Code: code}) }
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{context.DeadlineExceeded, false},
		{pgErr("23505"), false}, // unique violation: the primary answered
		{pgErr("40001"), false}, // serialization failure: InTx's own retry
		{pgErr("25006"), true},  // read only: a demoted primary behind a proxy
		{pgErr("57P01"), true},  // admin shutdown
		{pgErr("57P03"), true},  // starting up, shutting down
		{pgErr("08006"), true},
		{&pgconn.ConnectError{}, true}, // none of the hosts is a writable primary
		{fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), true},
		{fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{errors.New("cannot scan into *int"), false},
	} {
		if got := PrimaryLost(c.err); got != c.want {
			t.Errorf("PrimaryLost(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if IsReadOnly(pgErr("57P01")) || !IsReadOnly(pgErr("25006")) {
		t.Errorf("IsReadOnly does not single out 25006")
	}
}
