package auditbench_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/internal/auditbench"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
)

// TestEventCost runs the benchmark with a driver side that checks what it
// is asked to write: each target's events chain (sequence numbers from 1,
// each linked to the hash before it) and carry their project's ID, and
// every metric is reported.
func TestEventCost(t *testing.T) {
	db := testdb.Open(t, repo.SQLite)
	type chain struct {
		seq  int64
		hash []byte
	}
	heads := map[string]*chain{}
	calls := map[string]int{}
	var bad []string
	raw := func(id, org uuid.UUID, name string, now time.Time, insert string, ev *auditbench.Event) error {
		calls[insert]++
		if insert == "" {
			if ev != nil {
				bad = append(bad, "an unaudited transaction got an event")
			}
			return nil
		}
		h := heads[insert]
		if h == nil {
			h = &chain{hash: make([]byte, 32)}
			heads[insert] = h
		}
		args := ev.Args("at")
		switch {
		case ev.Seq != h.seq+1 || !bytes.Equal(ev.PrevHash, h.hash) || len(ev.Hash) != 32:
			bad = append(bad, "an event that does not extend its chain")
		case ev.OrgID != org || ev.TargetID != id.String() || !ev.OccurredAt.Equal(now):
			bad = append(bad, "an event about another project")
		case len(args) != 15 || args[3] != "at" || args[14] == nil:
			bad = append(bad, "Args out of Columns order")
		}
		h.seq, h.hash = ev.Seq, ev.Hash
		return nil
	}
	r := testing.Benchmark(func(b *testing.B) { auditbench.EventCost(b, db, raw, "bare", "event") })
	if len(bad) > 0 {
		t.Fatalf("%d bad calls, first: %s", len(bad), bad[0])
	}
	if r.N == 0 || calls[""] != calls["bare"] || calls["bare"] != calls["event"] || calls["event"] != 16*r.N {
		t.Fatalf("%d iterations, calls %v", r.N, calls)
	}
	for _, m := range []string{"raw-tx/s", "raw-bare-row-tx/s", "raw-event-tx/s", "strata-tx/s", "strata-event-tx/s",
		"bare-row/unaudited", "raw-audited/unaudited", "audited/unaudited"} {
		if r.Extra[m] <= 0 {
			t.Errorf("metric %s = %v", m, r.Extra[m])
		}
	}
}
