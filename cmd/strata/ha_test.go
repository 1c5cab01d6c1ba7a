package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/loadgen"
	"github.com/strata-go/strata/internal/pgtest"
)

// failures records when requests got an answer other than 201.
type failures struct {
	mu    sync.Mutex
	times []time.Time
}

func (f *failures) note(r loadgen.Response) loadgen.Response {
	if r.Status != http.StatusCreated {
		f.mu.Lock()
		f.times = append(f.times, time.Now())
		f.mu.Unlock()
	}
	return r
}

// window returns how many requests failed and the time from the first
// failure to the last.
func (f *failures) window() (int, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.times) == 0 {
		return 0, 0
	}
	return len(f.times), f.times[len(f.times)-1].Sub(f.times[0])
}

// TestHighAvailability runs strata serve on a pg_auto_failover formation
// (a monitor, a primary and a synchronous secondary, on this machine) with
// the multi-host URL, while 4 clients create projects:
//
//   - a planned switchover (what pg_autoctl perform switchover does) fails
//     no request: requests wait for the new primary (--primary-wait), and
//     a write whose COMMIT was in flight when the old primary shut down is
//     found committed or run again, by its audit event;
//   - a kill -9 of the primary's node (its keeper and PostgreSQL, as a lost
//     machine) loses no acknowledged write; the client-visible error count
//     and window are logged next to the monitor's promotion time;
//   - a client that retries a create with the same Idempotency-Key across
//     the failover gets one project and one audit event;
//
// and nothing is half-written and the audit chain verifies after both.
// It starts a formation (30 s to 2 min here): make soak runs it (and make
// ha, alone).
func TestHighAvailability(t *testing.T) {
	if os.Getenv("STRATA_SOAK") == "" {
		t.Skip("starts a pg_auto_failover formation: run by make soak")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	f := pgtest.NewFormation(t, pgtest.FormationOptions{FastFailover: true})
	dbURL := f.URL("")
	p := startProc(t, procOptions{}, "--db", dbURL, "--migrate", "--primary-wait", "30s", "--request-timeout", "40s")
	key := p.key
	if key == "" {
		t.Fatalf("the first start printed no API key:\n%s", p.log)
	}
	c := p.client(key, 45*time.Second)
	acked := newAckSet()

	// under runs fault while 4 clients create projects, and returns the
	// load's statistics and its failures once writes flowed again after it.
	under := func(name string, fault func()) (loadgen.Stats, *failures) {
		fails := &failures{}
		load := loadgen.Start(loadgen.Config{Workers: 4}, func(ctx context.Context, w, i int) loadgen.Response {
			return fails.note(createProject(ctx, c, fmt.Sprintf("%s-w%d-%d", name, w, i), acked))
		})
		before := acked.len()
		if !load.WaitFor(30*time.Second, func(loadgen.Stats) bool { return acked.len() >= before+40 }) {
			load.Stop()
			t.Fatalf("%s: writes did not flow: %v\n%s", name, load.Stats(), tail(p.log.String(), 20))
		}
		fault()
		after := acked.len()
		if !load.WaitFor(60*time.Second, func(loadgen.Stats) bool { return acked.len() >= after+40 }) {
			load.Stop()
			t.Fatalf("%s: writes did not resume: %v\n%s", name, load.Stats(), tail(p.log.String(), 20))
		}
		return load.Stop(), fails
	}

	// A planned switchover: no request fails.
	start := time.Now()
	stats, fails := under("switchover", func() {
		if err := f.Switchover(ctx); err != nil {
			t.Fatal(err)
		}
	})
	// inDoubt returns the server's count of commits in doubt, by resolution.
	inDoubt := func() string {
		r := c.Do(ctx, "GET", "/metrics", "")
		var lines []string
		for _, l := range strings.Split(string(r.Body), "\n") {
			if strings.HasPrefix(l, "strata_db_commits_in_doubt_total{") {
				lines = append(lines, strings.TrimPrefix(l, "strata_db_commits_in_doubt_total"))
			}
		}
		return strings.Join(lines, " ")
	}
	n, window := fails.window()
	t.Logf("switchover in %v: %v; failed %d over %v; commits in doubt: %s", time.Since(start).Round(time.Millisecond), stats, n, window, inDoubt())
	if n != 0 {
		t.Errorf("switchover: %d requests failed (over %v), want 0: %v", n, window, stats)
	}
	if err := f.WaitStable(ctx); err != nil {
		t.Fatal(err)
	}

	// A lost primary: nothing acknowledged is lost; a request fails only
	// while no primary exists; a retry under one key applies once.
	primary, err := f.Primary(ctx)
	if err != nil || primary < 0 {
		t.Fatalf("no primary: %d, %v", primary, err)
	}
	retryKey := "ha-" + fmt.Sprint(time.Now().UnixNano())
	var retried []string // the IDs the retries were answered with
	var crashed time.Time
	stats, fails = under("failover", func() {
		crashed = time.Now()
		f.Crash(primary)
		for len(retried) < 2 && time.Since(crashed) < time.Minute {
			r := c.Do(ctx, "POST", "/v1/orgs/acme/projects", `{"name":"retried-across-the-failover"}`, "Idempotency-Key", retryKey)
			if r.Status != http.StatusCreated {
				time.Sleep(100 * time.Millisecond) // no answer, or a 503: retry with the same key
				continue
			}
			var pr apiProject
			if err := json.Unmarshal(r.Body, &pr); err != nil {
				t.Fatalf("retry: %s", r.Body)
			}
			retried = append(retried, pr.ID) // once created, once replayed
		}
	})
	n, window = fails.window()
	promoted := promotionAfter(ctx, t, f, crashed, primary)
	t.Logf("kill -9 of the primary: %v; failed %d over %v; the monitor assigned the new primary %v after the kill; commits in doubt (since the start): %s",
		stats, n, window, promoted, inDoubt())
	if len(retried) != 2 || retried[0] != retried[1] {
		t.Errorf("retries under one key across the failover answered %v, want the same project twice", retried)
	} else {
		acked.add("retried-across-the-failover", retried[0])
	}

	// Every acknowledged project is there, with its one audit event (a
	// retried creation made one event), and the chain verifies.
	projects := checkNothingHalfWritten(t, c, acked.snapshot())
	if _, ok := projects["retried-across-the-failover"]; !ok {
		t.Error("the project created under a retried key is missing")
	}
	if out, errOut, code := runStrata(t, "audit", "verify", "--db", dbURL, "--org", "acme"); code != 0 {
		t.Errorf("strata audit verify: exit %d: %s %s", code, out, errOut)
	}
}

// promotionAfter returns the time from crashed to the monitor assigning
// another node than lost the primary's role, from its events.
func promotionAfter(ctx context.Context, t *testing.T, f *pgtest.Formation, crashed time.Time, lost int) time.Duration {
	t.Helper()
	at, ok, err := f.Promotion(ctx, crashed, lost)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("no promotion among the monitor's events")
	}
	return at.Sub(crashed).Round(time.Millisecond)
}
