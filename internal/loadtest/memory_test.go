package loadtest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/loadtest"
	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// auditEvents is the size of the chain TestAuditMemory exports and verifies.
const auditEvents = 1_000_000

// TestAuditMemory runs `strata audit export` and `strata audit verify` as
// child processes over a SQLite file holding one org with a chain of a
// million events, and checks that each stays under 50 MiB of resident
// memory at its peak (ru_maxrss of the exited process).
func TestAuditMemory(t *testing.T) {
	heavy(t)
	bin := strataBin(t)
	start := time.Now()
	file := cachedChain(t, auditEvents)
	made := time.Since(start)

	const limit = 50 << 20
	var b strings.Builder
	fmt.Fprintf(&b, "\naudit trail of %d events, SQLite, strata as a child process (chain ready in %s)\n", auditEvents, made.Round(time.Second))
	fmt.Fprintf(&b, "| command | time | peak RSS | target |\n| --- | ---: | ---: | --- |\n")
	for _, args := range [][]string{
		{"audit", "export", "--org", "acme", "--format", "jsonl"},
		{"audit", "export", "--org", "acme", "--format", "csv"},
		{"audit", "verify", "--org", "acme"},
	} {
		cmd := exec.CommandContext(t.Context(), bin, append(args, "--db", "sqlite:"+file)...)
		out, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = out
		var stderr strings.Builder
		cmd.Stderr = &stderr
		t0 := time.Now()
		peak, err := loadtest.RunPeak(cmd)
		d := time.Since(t0)
		out.Close()
		if err != nil {
			t.Fatalf("strata %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		verdict := "met"
		if peak >= limit {
			verdict = "MISSED"
			t.Errorf("strata %s: peak RSS %.1f MiB, want < %d MiB", strings.Join(args, " "), float64(peak)/(1<<20), limit>>20)
		}
		if args[1] == "export" {
			want := auditEvents
			if args[5] == "csv" {
				want++ // the header
			}
			if lines := countLines(t, out.Name()); lines != want {
				t.Errorf("export wrote %d lines, want %d", lines, want)
			}
		}
		os.Remove(out.Name())
		fmt.Fprintf(&b, "| strata %s | %s | %.1f MiB | < %d MiB: %s |\n", strings.Join(args, " "), d.Round(10*time.Millisecond), float64(peak)/(1<<20), limit>>20, verdict)
	}
	report(t, b.String())
}

// countLines counts the lines of a file, streaming (a big test process
// would not change the figures, but it would waste memory).
func countLines(t *testing.T, name string) int {
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, buf := 0, make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte("\n"))
		if err != nil {
			return n
		}
	}
}

// cachedChain returns a SQLite database file holding a chain of n events
// (see makeChain), made once and kept in the temporary directory for later
// runs while the SQLite migrations are unchanged: it takes minutes to make.
func cachedChain(t *testing.T, n int) string {
	t.Helper()
	h, err := pgtest.HashFS(migrations.SQLite())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(os.TempDir(), fmt.Sprintf("strata-loadtest-chain-v2-%s-%d.db", h[:12], n)) // v2: sealed
	if _, err := os.Stat(file); err == nil {
		return file
	}
	tmp := filepath.Join(t.TempDir(), "chain.db")
	makeChain(t, tmp, n)
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	return file
}

// makeChain creates a SQLite database at file with the org "acme"
// (bootstrapped: one event) and appends events until its chain holds n,
// through the repository and audit.Record, in transactions of 10,000.
func makeChain(t *testing.T, file string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := strata.Open(ctx, "sqlite:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := strata.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	svc := service.New(db, rbac.New(db.RoleBindings(), rbac.Options{}), service.Options{})
	org, _, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: "acme", Email: "owner@example.com"}, service.Request{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Duration(n) * time.Second)
	for done := 1; done < n; {
		err := db.InTx(ctx, func(tx repo.Store) error {
			for i := 0; i < 10000 && done < n; i++ {
				done++
				_, err := audit.Record(ctx, tx, repo.AuditEvent{
					OrgID: org.ID, OccurredAt: at.Add(time.Duration(done) * time.Second),
					ActorType: repo.ActorUser, ActorID: repo.NewID().String(), Action: "project.update",
					TargetType: "project", TargetID: repo.NewID().String(),
					Metadata:   fmt.Sprintf(`{"before":{"name":"p%d"},"after":{"name":"p%d-renamed"}}`, done, done),
					RemoteAddr: "192.0.2.7", RequestID: fmt.Sprintf("req-%d", done),
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Anchor the chain as strata serve's sealer does after each commit: the
	// CLI reads the trail up to the anchored head, and does not seal.
	if _, err := audit.NewSealer(db.AuditEvents(), audit.SealerOptions{}).SealAll(ctx); err != nil {
		t.Fatal(err)
	}
}
