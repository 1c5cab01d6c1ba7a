package benchcmp

import (
	"os"
	"strings"
	"testing"
)

// Statement is an SQL statement that a benchmark's hand-written side runs,
// copied from the code sqlc generated: SQL is the copy, and Name the
// constant that holds the original in the Go file File.
type Statement struct{ File, Name, SQL string }

// CheckStatements fails t for each statement whose copy differs from the
// generated constant, byte for byte, so that both sides of a comparison
// keep running the same SQL as the queries change.
func CheckStatements(t *testing.T, stmts ...Statement) {
	t.Helper()
	for _, s := range stmts {
		src, err := os.ReadFile(s.File)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), "const "+s.Name+" = `"+s.SQL+"`") {
			t.Errorf("the hand-written side's %s differs from %s: copy it again", s.Name, s.File)
		}
	}
}
