package main

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to tamper with the file as an attacker would

	"github.com/strata-go/strata"
	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/repo"
)

func TestBootstrapThenAuditVerifyAndExport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.db")
	dbURL := "sqlite:" + file
	out, errOut, code := runStrata(t, "bootstrap", "--db", dbURL, "--org", "acme", "--email", "owner@acme.test", "--name", "Ada")
	if code != 0 {
		t.Fatalf("bootstrap: exit %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if !strings.HasPrefix(key, "strata_") || strings.Contains(key, " ") {
		t.Fatalf("last line of bootstrap output = %q, want the key alone", key)
	}

	// The same org again is a conflict: exit 1, nothing printed as a key.
	out, errOut, code = runStrata(t, "bootstrap", "--db", dbURL, "--org", "acme", "--email", "x@acme.test")
	if code != exitFail || strings.Contains(out, "strata_") || !strings.Contains(errOut, "exists") {
		t.Errorf("second bootstrap: exit %d, out %q, err %q", code, out, errOut)
	}

	out, errOut, code = runStrata(t, "audit", "verify", "--db", dbURL, "--org", "acme")
	if code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("verify: exit %d, %q %q", code, out, errOut)
	}
	for format, wantFirst := range map[string]string{"jsonl": `{"format":2,"org_id":`, "csv": "org_id,seq,"} {
		out, errOut, code = runStrata(t, "audit", "export", "--db", dbURL, "--org", "acme", "--format", format)
		if code != 0 || !strings.HasPrefix(out, wantFirst) {
			t.Errorf("export %s: exit %d, %q %q", format, code, out, errOut)
		}
	}

	// Tamper with the event as someone with the file would: drop the
	// append-only trigger, change the action, put the trigger back.
	db, err := sql.Open("sqlite", file)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP TRIGGER audit_events_no_update`,
		`UPDATE audit_events SET action = 'nothing.happened' WHERE seq = 1`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	_, errOut, code = runStrata(t, "audit", "verify", "--db", dbURL, "--org", "acme")
	if code != exitFail || !strings.Contains(errOut, "seq 1") {
		t.Errorf("verify after tampering: exit %d, stderr %q; want exit 1 naming seq 1", code, errOut)
	}

	for _, args := range [][]string{
		{"audit", "verify", "--db", dbURL},                  // no org
		{"audit", "verify", "--db", dbURL, "--org", "nope"}, // unknown org
		{"audit", "export", "--db", dbURL, "--org", "acme", "--format", "xml"},
		{"audit", "verify", "--db", "postgres://127.0.0.1:1/x?connect_timeout=2", "--org", "acme"}, // cannot connect
		{"bootstrap", "--db", dbURL, "--org", "Bad Slug", "--email", "a@b.c"},
	} {
		if _, errOut, code := runStrata(t, args...); code == 0 || errOut == "" {
			t.Errorf("strata %v: exit %d, stderr %q; want a failure with a message", args, code, errOut)
		}
	}
}

// TestAuditVerifyFailsOnAnEventWaitingTooLong: an event that has waited to
// be sealed longer than --max-pending (default 1 min: no server, hence no
// sealer, ran since it was recorded) makes `strata audit verify` exit 1
// naming it; a longer bound passes and says it waits; on both dialects.
func TestAuditVerifyFailsOnAnEventWaitingTooLong(t *testing.T) {
	for name, dbURL := range map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "s.db"),
		"postgres": emptyPostgres(t),
	} {
		t.Run(name, func(t *testing.T) {
			if _, errOut, code := runStrata(t, "bootstrap", "--db", dbURL, "--migrate", "--org", "acme", "--email", "owner@acme.test"); code != 0 {
				t.Fatalf("bootstrap: exit %d, %s", code, errOut)
			}
			ctx := t.Context()
			db, err := strata.Open(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			org, err := db.Orgs().GetBySlug(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			var ev repo.AuditEvent
			err = db.InTx(ctx, func(tx repo.Store) error {
				ev, err = audit.Record(ctx, tx, repo.AuditEvent{OrgID: org.ID, ActorType: repo.ActorSystem, Action: "test.stuck",
					OccurredAt: time.Now().Add(-2 * time.Hour)})
				return err
			})
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			_, errOut, code := runStrata(t, "audit", "verify", "--db", dbURL, "--org", "acme")
			if code != exitFail || !strings.Contains(errOut, ev.ID.String()) || !strings.Contains(errOut, "sealed") {
				t.Errorf("verify: exit %d, stderr %q; want exit 1 naming event %s", code, errOut, ev.ID)
			}
			out, errOut, code := runStrata(t, "audit", "verify", "--db", dbURL, "--org", "acme", "--max-pending", "3h")
			if code != 0 || !strings.Contains(out, "1 events not yet sealed") {
				t.Errorf("verify --max-pending 3h: exit %d, %q %q", code, out, errOut)
			}
		})
	}
}
