package pguuid_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/internal/pguuid"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestRoundTrip checks values, NULLs and pointers through the codec, in both
// directions, against PostgreSQL's own text form.
func TestRoundTrip(t *testing.T) {
	url := pgtest.NewDatabase(t, pgtest.Template{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := pguuid.Register(ctx, conn); err != nil {
		t.Fatal(err)
	}
	id := uuid.Must(uuid.NewV7())
	var back uuid.UUID
	var text string
	if err := conn.QueryRow(ctx, "SELECT $1::uuid, $1::uuid::text", id).Scan(&back, &text); err != nil {
		t.Fatal(err)
	}
	if back != id || text != id.String() {
		t.Errorf("round trip: %s / %q, want %s", back, text, id)
	}
	var ptr *uuid.UUID
	if err := conn.QueryRow(ctx, "SELECT NULL::uuid").Scan(&ptr); err != nil || ptr != nil {
		t.Errorf("NULL into *uuid.UUID: %v, %v", ptr, err)
	}
	if err := conn.QueryRow(ctx, "SELECT $1::uuid", &id).Scan(&ptr); err != nil || ptr == nil || *ptr != id {
		t.Errorf("pointer round trip: %v, %v", ptr, err)
	}
	if err := conn.QueryRow(ctx, "SELECT NULL::uuid").Scan(&back); err == nil {
		t.Error("NULL into uuid.UUID: no error")
	}
}
