package repo_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDriverImports keeps package repo free of database drivers: nothing
// above the adapters may see a driver type.
func TestNoDriverImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		// database/sql/driver (the interfaces uuid.UUID implements) is fine;
		// database/sql itself, any driver and the generated code are not.
		if dep == "database/sql" {
			t.Errorf("package repo depends on %s", dep)
		}
		for _, banned := range []string{"github.com/jackc/", "modernc.org/", "github.com/strata-go/strata/db/"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("package repo depends on %s", dep)
			}
		}
	}
}
