package repotest

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/strata-go/strata/repo"
)

// Harness describes the implementation under test.
type Harness struct {
	// Dialect is the dialect of the databases Open returns; the suite checks
	// that DB.Dialect reports it and prints it in its summary.
	Dialect repo.Dialect

	// Name, when set, tells this run apart from another of the same dialect
	// in the summary line, e.g. "postgres via router".
	Name string

	// Open returns a fresh, migrated and empty database for one case and
	// registers its cleanup (closing it, dropping it) with t.Cleanup. Run
	// calls it once per case, from parallel cases unless Serial is set, so
	// each call must return a database of its own.
	Open func(t *testing.T) repo.DB

	// ConcurrentWriters reports that two transactions can hold row locks at
	// the same time (true for PostgreSQL). The suite then makes two
	// transactions deadlock on purpose and expects InTx to retry the loser
	// until both commit, and checks that uncommitted writes are invisible
	// outside their transaction. When false (SQLite: one writer, so
	// transactions are serialized) it checks instead that concurrent InTx
	// calls locking rows in opposite orders all succeed.
	ConcurrentWriters bool

	// Serial runs the cases one at a time. By default every case calls
	// t.Parallel, which is safe because each has its own database.
	Serial bool
}

// testCase is one conformance case: a subtest with a database of its own.
type testCase struct {
	name string
	run  func(e *env)
}

// allCases lists every case of the suite.
func allCases() []testCase {
	var cs []testCase
	for _, group := range [][]testCase{
		storeCases(), orgCases(), userCases(), membershipCases(), roleCases(),
		bindingCases(), projectCases(), environmentCases(), importCases(), apiKeyCases(), credentialCases(), auditCases(), idempotencyCases(),
		isolationCases(), validationCases(), beforeLookupCases(), boundaryCases(), pagingCases(), txCases(),
	} {
		cs = append(cs, group...)
	}
	return cs
}

// Run runs the conformance suite against the implementation h describes,
// one subtest per case, and prints how many cases passed and failed when
// they have all finished.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Open == nil {
		t.Fatal("repotest: Harness.Open is nil")
	}
	if h.Dialect == "" {
		t.Fatal("repotest: Harness.Dialect is empty")
	}
	var (
		mu                      sync.Mutex
		passed, failed, skipped int
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		line := fmt.Sprintf("conformance[%s]: %d cases passed, %d failed, %d skipped\n", cmp.Or(h.Name, string(h.Dialect)), passed, failed, skipped)
		fmt.Fprint(os.Stdout, line)
		appendSummary(t, line)
	})
	for _, c := range allCases() {
		t.Run(c.name, func(t *testing.T) {
			// Registered first, so it runs last: after Open's cleanups,
			// whose failures count too.
			t.Cleanup(func() {
				mu.Lock()
				defer mu.Unlock()
				switch {
				case t.Failed():
					failed++
				case t.Skipped():
					skipped++
				default:
					passed++
				}
			})
			if !h.Serial {
				t.Parallel()
			}
			db := h.Open(t)
			if db == nil {
				t.Fatal("repotest: Harness.Open returned nil")
			}
			c.run(&env{t: t, ctx: t.Context(), db: db, h: h})
		})
	}
}

// SummaryEnv names an environment variable: when set to a file name, Run
// also appends its summary line to that file, so a build (make test) can
// show every dialect's count after go test ./..., which hides the output of
// passing packages.
const SummaryEnv = "STRATA_CONFORMANCE_SUMMARY"

func appendSummary(t *testing.T, line string) {
	name := os.Getenv(SummaryEnv)
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = f.WriteString(line)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Errorf("repotest: writing the summary to %s: %v", name, err)
	}
}
