package repotest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/repotest"
)

// The suite is only as good as the bugs it catches. TestSuiteCatchesFaults
// runs it against SQLite wrapped so as to have one deliberate fault, and
// expects the case aimed at that fault to fail. (The adapters run the whole
// suite on their own, in their conformance tests.)

// faultEnv names the fault a child process injects.
const faultEnv = "REPOTEST_FAULT"

func TestSuiteCatchesFaults(t *testing.T) {
	if os.Getenv(faultEnv) != "" {
		t.Skip("in a child process")
	}
	for _, c := range []struct{ fault, failingCase string }{
		{"", "Orgs/Create"}, // control: no fault, the case passes
		{"local-time", "Orgs/Create"},
		{"no-field", "Validation/Orgs/Create/SlugEmpty"},
		{"conflict-as-internal", "Projects/CreateDuplicateName"},
		{"cross-tenant-read", "Isolation/Projects/Get"},
		{"nil-items", "Paging/Projects/Empty"},
		{"ignore-limit", "Paging/Projects/Walk"},
		{"revoke-idempotent", "APIKeys/Revoke"},
		{"bad-seal", "AuditEvents/AppendThenSeal"},
		{"no-retry", "Tx/RetryRetryableError"},
		{"swallow-tx-error", "Tx/RollbackOnError"},
	} {
		t.Run(c.fault+"/"+c.failingCase, func(t *testing.T) {
			t.Parallel()
			var pattern []string
			for _, part := range strings.Split(c.failingCase, "/") {
				pattern = append(pattern, "^"+part+"$")
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.count=1",
				"-test.run=^TestFaultyAdapter$/"+strings.Join(pattern, "/"))
			// The child's deliberately failing runs are not the suite's
			// results: keep them out of make test's summary.
			cmd.Env = append(os.Environ(), faultEnv+"="+orNone(c.fault), repotest.SummaryEnv+"=")
			out, err := cmd.CombinedOutput()
			failed := strings.Contains(string(out), "--- FAIL: TestFaultyAdapter/"+c.failingCase+" ")
			summary := "conformance[sqlite]: 1 cases passed, 0 failed"
			if c.fault != "" {
				summary = "conformance[sqlite]: 0 cases passed, 1 failed"
			}
			switch {
			case c.fault == "" && (err != nil || failed):
				t.Errorf("without a fault, %s fails:\n%s", c.failingCase, out)
			case c.fault != "" && (err == nil || !failed):
				t.Errorf("fault %q: %s does not fail:\n%s", c.fault, c.failingCase, out)
			case !strings.Contains(string(out), summary):
				t.Errorf("the output lacks the summary %q:\n%s", summary, out)
			}
		})
	}
}

// orNone returns fault, or "none" for no fault.
func orNone(fault string) string {
	if fault != "" {
		return fault
	}
	return "none"
}

// TestFaultyAdapter is the child process of TestSuiteCatchesFaults.
func TestFaultyAdapter(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("run by TestSuiteCatchesFaults")
	}
	repotest.Run(t, repotest.Harness{
		Dialect: repo.SQLite,
		Open: func(t *testing.T) repo.DB {
			db := testdb.Open(t, repo.SQLite)
			return faultyDB{faultyStore{db, fault}, db}
		},
	})
}

// faultyStore is a Store with one deliberate fault.
type faultyStore struct {
	repo.Store
	fault string
}

func (s faultyStore) Orgs() repo.Orgs { return faultyOrgs{s.Store.Orgs(), s.fault} }
func (s faultyStore) Projects() repo.Projects {
	return faultyProjects{s.Store.Projects(), s.Store.Orgs(), s.fault}
}
func (s faultyStore) APIKeys() repo.APIKeys { return faultyKeys{s.Store.APIKeys(), s.fault} }
func (s faultyStore) AuditEvents() repo.AuditEvents {
	return faultyAudit{s.Store.AuditEvents(), s.fault}
}

func (s faultyStore) InTx(ctx context.Context, fn func(tx repo.Store) error) error {
	err := s.Store.InTx(ctx, func(tx repo.Store) error {
		err := fn(faultyStore{tx, s.fault})
		if s.fault == "no-retry" && repo.IsRetryable(err) {
			return repo.Conflict("not retried")
		}
		return err
	})
	if s.fault == "swallow-tx-error" {
		return nil
	}
	return err
}

// faultyDB is a DB over a faultyStore.
type faultyDB struct {
	faultyStore
	db repo.DB
}

func (d faultyDB) Dialect() repo.Dialect          { return d.db.Dialect() }
func (d faultyDB) Ping(ctx context.Context) error { return d.db.Ping(ctx) }
func (d faultyDB) Close() error                   { return d.db.Close() }

type faultyOrgs struct {
	repo.Orgs
	fault string
}

func (o faultyOrgs) Create(ctx context.Context, in repo.NewOrg) (repo.Org, error) {
	org, err := o.Orgs.Create(ctx, in)
	var e *repo.Error
	if o.fault == "no-field" && errors.As(err, &e) {
		c := *e
		c.Field = ""
		err = &c
	}
	return org, err
}

func (o faultyOrgs) Get(ctx context.Context, id uuid.UUID) (repo.Org, error) {
	org, err := o.Orgs.Get(ctx, id)
	if o.fault == "local-time" {
		org.CreatedAt = org.CreatedAt.In(time.FixedZone("UTC+0", 0))
	}
	return org, err
}

type faultyProjects struct {
	repo.Projects
	orgs  repo.Orgs
	fault string
}

func (p faultyProjects) Create(ctx context.Context, org uuid.UUID, in repo.NewProject) (repo.Project, error) {
	pr, err := p.Projects.Create(ctx, org, in)
	if p.fault == "conflict-as-internal" && errors.Is(err, repo.ErrConflict) {
		err = &repo.Error{Kind: repo.ErrInternal, Err: errors.New(err.Error())}
	}
	return pr, err
}

func (p faultyProjects) Get(ctx context.Context, org, id uuid.UUID) (repo.Project, error) {
	pr, err := p.Projects.Get(ctx, org, id)
	if p.fault == "cross-tenant-read" && errors.Is(err, repo.ErrNotFound) {
		orgs, _ := p.orgs.List(ctx, repo.PageRequest{Limit: repo.MaxPageSize})
		for _, o := range orgs.Items {
			if pr, err2 := p.Projects.Get(ctx, o.ID, id); err2 == nil {
				return pr, nil
			}
		}
	}
	return pr, err
}

func (p faultyProjects) List(ctx context.Context, org uuid.UUID, page repo.PageRequest) (repo.Page[repo.Project], error) {
	if p.fault == "ignore-limit" && page.Limit > 0 {
		page.Limit = repo.MaxPageSize
	}
	ps, err := p.Projects.List(ctx, org, page)
	if p.fault == "nil-items" && len(ps.Items) == 0 {
		ps.Items = nil
	}
	return ps, err
}

type faultyKeys struct {
	repo.APIKeys
	fault string
}

func (k faultyKeys) Revoke(ctx context.Context, org, id uuid.UUID) error {
	err := k.APIKeys.Revoke(ctx, org, id)
	if k.fault == "revoke-idempotent" && errors.Is(err, repo.ErrNotFound) {
		return nil
	}
	return err
}

type faultyAudit struct {
	repo.AuditEvents
	fault string
}

func (a faultyAudit) Append(ctx context.Context, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
	return a.AuditEvents.Append(ctx, ev, a.sealer(seal))
}

func (a faultyAudit) SealPending(ctx context.Context, seal repo.Sealer) (repo.SealReport, error) {
	return a.AuditEvents.SealPending(ctx, a.sealer(seal))
}

// sealer returns seal, or with the bad-seal fault a sealer that seals
// another sequence number than the event's.
func (a faultyAudit) sealer(seal repo.Sealer) repo.Sealer {
	if a.fault != "bad-seal" {
		return seal
	}
	return func(ev *repo.AuditEvent) []byte {
		c := *ev
		c.Seq++
		return seal(&c)
	}
}
