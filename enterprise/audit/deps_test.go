package audit_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestNoDriverImports keeps package audit on the repo interfaces: it may not
// depend on a database driver, database/sql or the generated code, so both
// dialects get the same guarantees through the same code.
func TestNoDriverImports(t *testing.T) {
	banned := regexp.MustCompile(`^(database/sql|github\.com/jackc/.*|modernc\.org/.*|github\.com/strata-go/strata/(db|repo)/.*)$`)
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if banned.MatchString(dep) {
			t.Errorf("package audit depends on %s", dep)
		}
	}
}
