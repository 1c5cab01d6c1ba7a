package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeWalkThrough returns the shell block of README.md that follows the
// walkthrough marker: the commands a new user copies and pastes.
func readmeWalkThrough(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- walkthrough")
	if !ok {
		t.Fatal("README.md has no walkthrough marker")
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal("no ```sh block after the walkthrough marker")
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

var firstStartKey = regexp.MustCompile(`(?m)^(strata_[0-9a-f]{32}_[A-Za-z0-9_-]{43})$`)

// TestReadmeWalkThrough runs the README's walk-through, as written, with
// bash, curl and jq against the real binary on a free port: on SQLite (the
// default) and on PostgreSQL.
func TestReadmeWalkThrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the walk-through needs %s: %v", tool, err)
		}
	}
	block := readmeWalkThrough(t)
	for name, args := range map[string][]string{
		"sqlite":   {"--db", "sqlite:" + filepath.Join(t.TempDir(), "strata.db")},
		"postgres": {"--db", emptyPostgres(t), "--migrate"},
	} {
		t.Run(name, func(t *testing.T) {
			base, stdout, stop := serveOut(t, args...)
			defer stop()
			m := firstStartKey.FindStringSubmatch(stdout())
			if m == nil {
				t.Fatalf("first start printed no API key:\n%s", stdout())
			}
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", block)
			cmd.Env = append(os.Environ(), "STRATA_KEY="+m[1], "STRATA_URL="+base)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("walk-through failed: %v\n%s", err, out)
			}
			for _, want := range []string{
				`"slug": "acme"`,                 // the org
				`"description": "edited by Ada"`, // Ada's update
				"delete as Ada: 403",             // Ada's refused delete
				`"action":"project.create"`,      // the trail
				`"outcome":"denied"`,             // ... with the refusal in it
				`"ok": true`,                     // and it verifies
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("walk-through output lacks %q:\n%s", want, out)
				}
			}
			// A second start prints no key: it is shown once.
			stop()
			_, again, stop2 := serveOut(t, args...)
			stop2()
			if firstStartKey.MatchString(again()) {
				t.Errorf("second start printed a key again:\n%s", again())
			}
		})
	}
}
