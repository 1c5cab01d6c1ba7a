package scaling_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDriverImports keeps the generic core free of database drivers:
// packages above the adapters (service, HTTP) may import it.
func TestNoDriverImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "database/sql" || strings.HasPrefix(dep, "github.com/jackc/") || strings.HasPrefix(dep, "modernc.org/") ||
			strings.HasPrefix(dep, "github.com/strata-go/strata/db/") {
			t.Errorf("package scaling depends on %s", dep)
		}
	}
}
