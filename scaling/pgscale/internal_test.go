package pgscale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/strata-go/strata/scaling"
)

func TestFault(t *testing.T) {
	pgErr := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code}) }
	for _, c := range []struct {
		err  error
		want scaling.Fault
	}{
		{nil, scaling.FaultNone},
		{pgx.ErrNoRows, scaling.FaultNone},
		{fmt.Errorf("x: %w", context.Canceled), scaling.FaultNone},
		{context.DeadlineExceeded, scaling.FaultNone},
		{pgErr("42601"), scaling.FaultQuery}, // syntax error
		{pgErr("23505"), scaling.FaultQuery}, // unique violation
		{pgErr("57014"), scaling.FaultQuery}, // statement timeout
		{pgErr("40001"), scaling.FaultRetry}, // recovery conflict on a standby
		{pgErr("53300"), scaling.FaultRetry},
		{pgErr("57P01"), scaling.FaultNode},
		{pgErr("57P03"), scaling.FaultNode},
		{pgErr("08006"), scaling.FaultNode},
		{&pgconn.ConnectError{}, scaling.FaultNode},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, scaling.FaultNode},
		{fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), scaling.FaultNode},
		{fmt.Errorf("x: %w", pgconn.ErrConnClosed), scaling.FaultNode},
		{errors.New("cannot scan into *int"), scaling.FaultQuery},
	} {
		if got := fault(c.err); got != c.want {
			t.Errorf("fault(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestPoolConfig(t *testing.T) {
	const base = "postgres://app@db1:5432/strata?sslmode=disable"
	pc, err := poolConfig(base, scaling.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if pc.MaxConns != scaling.DefaultMaxConns() || pc.MaxConnLifetime != scaling.DefaultMaxConnLifetime ||
		pc.MaxConnLifetimeJitter != scaling.DefaultMaxConnLifetimeJitter || pc.MaxConnIdleTime != scaling.DefaultMaxConnIdleTime ||
		pc.HealthCheckPeriod != scaling.DefaultHealthCheckPeriod || pc.MinConns != 0 {
		t.Errorf("defaults not applied: %+v", pc)
	}
	// The URL's pool parameters stand unless the Config sets the field.
	pc, err = poolConfig(base+"&pool_max_conns=7&pool_max_conn_lifetime_jitter=1m", scaling.Config{MaxConnLifetime: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if pc.MaxConns != 7 || pc.MaxConnLifetimeJitter != time.Minute || pc.MaxConnLifetime != 5*time.Minute {
		t.Errorf("URL parameters: max %d, jitter %v, lifetime %v", pc.MaxConns, pc.MaxConnLifetimeJitter, pc.MaxConnLifetime)
	}
	pc, err = poolConfig(base+"&pool_max_conns=7", scaling.Config{MaxConns: 3})
	if err != nil || pc.MaxConns != 3 {
		t.Errorf("Config over URL: %v, %v", pc.MaxConns, err)
	}
	if _, err := poolConfig(base+"&pool_max_conns=2", scaling.Config{MinConns: 3}); !errors.Is(err, scaling.ErrInvalidConfig) {
		t.Errorf("MinConns above the URL's MaxConns: %v", err)
	}
}

func TestNodeName(t *testing.T) {
	for url, want := range map[string]string{
		"postgres://app:secret@db1/strata":                                          "db1:5432/strata",
		"postgres://app@db1:5433,db2:5434/strata?target_session_attrs=read-write":   "db1:5433,db2:5434/strata",
		"postgres://app@[::1]:5432/strata":                                          "[::1]:5432/strata",
		"host=db1 port=6000 user=app password=secret dbname=strata sslmode=disable": "db1:6000/strata",
	} {
		pc, err := poolConfig(url, scaling.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if got := nodeName(pc); got != want {
			t.Errorf("nodeName(%s) = %q, want %q", url, got, want)
		}
	}
}
