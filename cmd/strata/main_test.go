package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/pgtest"
	"github.com/strata-go/strata/migrations"
	"github.com/strata-go/strata/repo"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// buildBinary builds cmd/strata once per test process.
var binary string

func strataBinary(t *testing.T) string {
	t.Helper()
	if binary != "" {
		return binary
	}
	dir, err := os.MkdirTemp("", "strata-bin-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "strata")
	cmd := exec.Command("go", "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	binary = out
	return out
}

// strata runs the binary to completion and returns stdout, stderr and the exit code.
func runStrata(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(strataBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "STRATA_DB=") // only flags count here
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

var servingAddr = regexp.MustCompile(`addr=http://([0-9.:]+)`)

// serve starts `strata serve` on a free port and returns its base URL and a
// function that sends SIGTERM and waits for it to exit, returning its exit code.
func serve(t *testing.T, args ...string) (string, func() int) {
	t.Helper()
	base, _, stop := serveOut(t, args...)
	return base, stop
}

// serveOut is serve that also returns a function reading what the server
// printed on stdout (the first-start API key). Stdout is a file, which the
// process writes directly, so all it printed before listening is there once
// it logs its address.
func serveOut(t *testing.T, args ...string) (string, func() string, func() int) {
	t.Helper()
	stdout, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdout.Close() })
	printed := func() string {
		b, err := os.ReadFile(stdout.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cmd := exec.Command(strataBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	var log strings.Builder
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := servingAddr.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			stop := func() int {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				err := cmd.Wait()
				if ee, ok := err.(*exec.ExitError); ok {
					return ee.ExitCode()
				}
				return 0
			}
			return "http://" + m[1], printed, stop
		}
	}
	_ = cmd.Wait()
	t.Fatalf("strata serve did not start:\n%s", log.String())
	return "", nil, nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeSQLiteMigratesItselfAndShutsDownCleanly(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "strata.db")
	base, stop := serve(t, "--db", dbURL)
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, base+path); code != http.StatusOK {
			t.Errorf("GET %s = %d %s", path, code, body)
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	// The file was migrated on first start: migrate version says so.
	out, errOut, code := runStrata(t, "migrate", "--db", dbURL, "version")
	if want := latestVersion(t, 0); code != 0 || strings.TrimSpace(out) != want {
		t.Errorf("migrate version = %q %q (exit %d), want %s", out, errOut, code, want)
	}
}

func TestServePostgresRefusesABehindSchemaUnlessMigrate(t *testing.T) {
	url := emptyPostgres(t)
	_, errOut, code := runStrata(t, "serve", "--addr", "127.0.0.1:0", "--db", url)
	if code != exitUsage || !strings.Contains(errOut, "behind") || !strings.Contains(errOut, "--migrate") {
		t.Fatalf("serve on an empty PostgreSQL: exit %d, stderr %q; want a clear 'behind' error", code, errOut)
	}
	base, stop := serve(t, "--db", url, "--migrate")
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz = %d %s", code, body)
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
}

func TestMigrateUpDownBothDialects(t *testing.T) {
	for name, url := range map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "m.db"),
		"postgres": emptyPostgres(t),
	} {
		t.Run(name, func(t *testing.T) {
			steps := []struct {
				args []string
				want string
			}{
				{[]string{"version"}, "version 0"},
				{[]string{"up"}, latestVersion(t, 0)},
				{[]string{"down", "1"}, latestVersion(t, 1)},
				{[]string{"up"}, latestVersion(t, 0)},
				{[]string{"down"}, "version 0"},
				{[]string{"force", "1"}, "version 1"},
				{[]string{"version"}, "version 1"},
				{[]string{"force", "-1"}, "version 0"},
				{[]string{"up"}, latestVersion(t, 0)},
				{[]string{"version"}, latestVersion(t, 0)},
			}
			for i, s := range steps {
				// The flag goes before the action, or after it (and its
				// argument), in turns: either way it names the database.
				args := append([]string{"migrate", "--db", url}, s.args...)
				if i%2 == 1 {
					args = append(append([]string{"migrate"}, s.args...), "--db", url)
				}
				out, errOut, code := runStrata(t, args...)
				if code != 0 || strings.TrimSpace(out) != s.want {
					t.Fatalf("migrate %v: %q %q (exit %d), want %q", s.args, out, errOut, code, s.want)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{},
		{"frobnicate"},
		{"migrate", "--db", "mysql://x"},
		{"migrate", "--db", "sqlite::memory:", "sideways"},
		{"migrate", "--db", "sqlite::memory:", "version", "now"},
		{"migrate", "up", "--db", "sqlite::memory:", "again"},
		{"migrate", "down", "--db", "sqlite::memory:", "--colour"},
		{"serve", "--log-format", "xml"},
		{"serve", "--idempotency-ttl", "0s"},
	}
	for _, args := range cases {
		_, errOut, code := runStrata(t, args...)
		if code != exitUsage || errOut == "" {
			t.Errorf("strata %v: exit %d, stderr %q; want exit 2 with a message", args, code, errOut)
		}
	}
	out, _, code := runStrata(t, "version")
	if code != 0 || !strings.HasPrefix(out, "strata ") {
		t.Errorf("strata version = %q (exit %d)", out, code)
	}
	for _, cmd := range []string{"serve", "migrate"} {
		_, errOut, code := runStrata(t, cmd, "--help")
		if code != 0 || !strings.Contains(errOut, "-db") {
			t.Errorf("strata %s --help: exit %d, %q", cmd, code, errOut)
		}
	}
}

// emptyPostgres returns the URL of a new, empty (unmigrated) PostgreSQL database.
func emptyPostgres(t *testing.T) string {
	t.Helper()
	return pgtest.NewDatabase(t, pgtest.Template{ID: "empty", Build: func(context.Context, string) error { return nil }})
}

// latestVersion is what "migrate version" prints back steps below the
// latest migration (the same in both dialects).
func latestVersion(t *testing.T, back uint) string {
	t.Helper()
	pg, err := migrations.Latest(repo.PostgreSQL)
	if err != nil {
		t.Fatal(err)
	}
	lite, err := migrations.Latest(repo.SQLite)
	if err != nil || lite != pg {
		t.Fatalf("latest migrations: sqlite %d (%v), postgres %d", lite, err, pg)
	}
	return fmt.Sprint("version ", pg-back)
}
