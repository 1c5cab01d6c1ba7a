package migrations_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestOfficialCLI applies both folders with the official golang-migrate CLI
// (pinned in tools/go.mod, built with its postgres and sqlite drivers): up,
// all the way down, and up again.
func TestOfficialCLI(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "migrate")
	build := exec.Command("go", "build", "-tags", "postgres sqlite", "-o", bin, "github.com/golang-migrate/migrate/v4/cmd/migrate")
	build.Dir = "../tools"
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the migrate CLI: %v\n%s", err, out)
	}
	pgURL := pgtest.NewDatabase(t, pgtest.Template{ID: "empty", Build: func(context.Context, string) error { return nil }})
	targets := map[string]string{
		"sqlite": "sqlite://" + filepath.Join(t.TempDir(), "cli.db"),
		"pg":     pgURL,
	}
	for dir, dbURL := range targets {
		t.Run(dir, func(t *testing.T) {
			for _, args := range [][]string{{"up"}, {"down", "-all"}, {"up"}} {
				cmd := exec.Command(bin, append([]string{"-path", dir, "-database", dbURL}, args...)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("migrate %v: %v\n%s", args, err, out)
				}
			}
			latest, err := migrations.Latest(map[string]repo.Dialect{"sqlite": repo.SQLite, "pg": repo.PostgreSQL}[dir])
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-path", dir, "-database", dbURL, "version").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != fmt.Sprint(latest) {
				t.Fatalf("migrate version = %q, %v; want %d", out, err, latest)
			}
		})
	}
}
