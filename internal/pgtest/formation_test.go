package pgtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestFormation checks the harness against the real HA manager: a
// formation starts with one writable primary reachable on the multi-host
// URL, a switchover moves the primary to the other node, and a crash of
// the primary makes the monitor promote the secondary (an event records
// it). It takes about a minute, so it runs in make soak (STRATA_SOAK set).
func TestFormation(t *testing.T) {
	if os.Getenv("STRATA_SOAK") == "" {
		t.Skip("starts a pg_auto_failover formation (about 30 s): run by make soak")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f := NewFormation(t, FormationOptions{FastFailover: true})

	primaryPort := func() int {
		t.Helper()
		conn, err := pgx.Connect(ctx, f.URL("strata"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var port int
		if err := conn.QueryRow(ctx, "SELECT current_setting('port')::int").Scan(&port); err != nil {
			t.Fatal(err)
		}
		var ro string
		if err := conn.QueryRow(ctx, "SHOW transaction_read_only").Scan(&ro); err != nil || ro != "off" {
			t.Fatalf("multi-host URL reached a read-only node (%q, %v)", ro, err)
		}
		return port
	}
	first, err := f.Primary(ctx)
	if err != nil || first < 0 {
		t.Fatalf("no primary: %d, %v", first, err)
	}
	before := primaryPort()

	start := time.Now()
	if err := f.Switchover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitStable(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("switchover: %v", time.Since(start).Round(time.Millisecond))
	second, err := f.Primary(ctx)
	if err != nil || second == first || second < 0 {
		t.Fatalf("switchover: primary %d -> %d (%v)", first, second, err)
	}
	if after := primaryPort(); after == before {
		t.Fatalf("multi-host URL still reaches port %d after the switchover", after)
	}

	crashed := time.Now()
	f.Crash(second)
	if err := f.poll(ctx, "a new primary", func(ctx context.Context) (bool, error) {
		p, err := f.Primary(ctx)
		return err == nil && p == first, nil
	}); err != nil {
		t.Fatal(err)
	}
	promoted, ok, err := f.Promotion(ctx, crashed, second)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("no promotion event after the crash")
	}
	t.Logf("crash to promotion assigned (monitor events): %v", promoted.Sub(crashed).Round(time.Millisecond))
	if err := f.Restart(second); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitStable(ctx); err != nil {
		t.Fatal(err)
	}
}
