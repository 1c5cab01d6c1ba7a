package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-go/strata/repo"
)

// writeRows writes n JSONL rows named p-1 ... p-n to a file, with bad as
// the line of row bad (if not 0).
func writeRows(t *testing.T, n, bad int) string {
	t.Helper()
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i == bad {
			b.WriteString(`{"name":""}` + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"name":"p-%d","description":"row %d"}`+"\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestImportProjects(t *testing.T) {
	for _, d := range []repo.Dialect{repo.SQLite, repo.PostgreSQL} {
		t.Run(string(d), func(t *testing.T) {
			dbURL := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
			if d == repo.PostgreSQL {
				dbURL = emptyPostgres(t)
				if _, errOut, code := runStrata(t, "migrate", "--db", dbURL, "up"); code != 0 {
					t.Fatalf("migrate: %s", errOut)
				}
			}
			out, errOut, code := runStrata(t, "bootstrap", "--db", dbURL, "--org", "acme", "--email", "owner@acme.test")
			if code != 0 {
				t.Fatalf("bootstrap: %s", errOut)
			}
			key := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])

			// A bad row stops the import: the batches before it stay, and the
			// message says how to resume.
			_, errOut, code = runStrata(t, "import", "projects", "--db", dbURL, "--org", "acme", "--file", writeRows(t, 25, 17), "--batch", "10")
			if code != exitFail || !strings.Contains(errOut, "row 17: name: must not be empty") || !strings.Contains(errOut, "--skip 10") {
				t.Fatalf("bad row: exit %d, stderr %q", code, errOut)
			}
			out, errOut, code = runStrata(t, "import", "projects", "--db", dbURL, "--org", "acme", "--file", writeRows(t, 25, 0), "--batch", "10", "--skip", "10", "--key", key)
			if code != 0 || !strings.HasPrefix(out, "imported 15 projects into acme in 2 batches") {
				t.Fatalf("resumed import: exit %d, %q %q", code, out, errOut)
			}
			// A taken name: exit 1, naming the row and the name.
			_, errOut, code = runStrata(t, "import", "projects", "--db", dbURL, "--org", "acme", "--file", writeRows(t, 3, 0))
			if code != exitFail || !strings.Contains(errOut, `row 1: name: a project named "p-1" already exists`) {
				t.Fatalf("taken name: exit %d, stderr %q", code, errOut)
			}

			// CSV on stdin.
			cmd := exec.Command(strataBinary(t), "import", "projects", "--db", dbURL, "--org", "acme", "--file", "-", "--format", "csv")
			cmd.Stdin = strings.NewReader("name,description\nfrom-csv,\"with, a comma\"\n")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || !strings.HasPrefix(stdout.String(), "imported 1 projects") {
				t.Fatalf("CSV on stdin: %v, %q %q", err, stdout.String(), stderr.String())
			}

			// One audit event per batch, and the chain verifies.
			out, errOut, code = runStrata(t, "audit", "export", "--db", dbURL, "--org", "acme", "--format", "jsonl")
			if n := strings.Count(out, `"action":"project.import"`); code != 0 || n != 4 {
				t.Fatalf("export: exit %d, %d project.import events (want 1 + 2 + 1), %s", code, n, errOut)
			}
			if out, errOut, code = runStrata(t, "audit", "verify", "--db", dbURL, "--org", "acme"); code != 0 {
				t.Fatalf("verify: %q %q", out, errOut)
			}
			if _, errOut, code = runStrata(t, "import", "projects", "--db", dbURL, "--file", "x"); code != exitUsage || !strings.Contains(errOut, "--org") {
				t.Errorf("without --org: exit %d, %q", code, errOut)
			}
		})
	}
}
