package sqliterepo_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-go/strata/internal/metricstest"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

// auditEvent is an event of org about target.
func auditEvent(org repo.Org, target string) repo.AuditEvent {
	return repo.AuditEvent{OrgID: org.ID, ActorType: repo.ActorSystem, Action: "project.create",
		TargetType: "project", TargetID: target, Outcome: repo.OutcomeSuccess}
}

// sortedTargets lists the target IDs of events, sorted.
func sortedTargets(events []repo.AuditEvent) []string {
	var ids []string
	for _, ev := range events {
		ids = append(ids, ev.TargetID)
	}
	slices.Sort(ids)
	return ids
}

// TestAuditGroupMemberFails: a member of a group that fails after appending
// takes its events back, and puts back the cached head, so that the next
// members extend the chain from where the member before it left it (no
// append refused against a stale head): the others' chain is gapless, in
// one COMMIT.
func TestAuditGroupMemberFails(t *testing.T) {
	db, org, errs := oneGroup(t, 6, func(ctx context.Context, tx repo.Store, org repo.Org, i int) error {
		n := 1
		if i == 3 || i == 4 {
			n = 3
		}
		for range n {
			if _, err := tx.AuditEvents().Append(ctx, auditEvent(org, fmt.Sprint(i)), seal); err != nil {
				return err
			}
		}
		if i == 3 {
			return errBoom
		}
		return nil
	})
	wantErrs(t, errs, 3, errBoom)
	if got, want := sortedTargets(checkChain(t, db, org)), []string{"0", "1", "2", "4", "4", "4", "5"}; !slices.Equal(got, want) {
		t.Errorf("events about %v, want %v", got, want)
	}
}

// TestAuditGroupMemberReadsTrail: a member that seals (anchors the head)
// and then reads the audit trail sees the group's events so far and its
// own; when it then fails, its anchor goes with it, and the others commit
// together and nobody runs again.
func TestAuditGroupMemberReadsTrail(t *testing.T) {
	db, org, errs := oneGroup(t, 6, func(ctx context.Context, tx repo.Store, org repo.Org, i int) error {
		ev, err := tx.AuditEvents().Append(ctx, auditEvent(org, fmt.Sprint(i)), seal)
		if err != nil {
			return err
		}
		if i != 2 && i != 4 {
			return nil
		}
		if _, err := tx.AuditEvents().SealPending(ctx, seal); err != nil {
			return err
		}
		page, err := tx.AuditEvents().List(ctx, org.ID, repo.AuditFilter{Descending: true}, repo.PageRequest{Limit: 100})
		if err != nil {
			return err
		}
		seq, _, err := tx.AuditEvents().Head(ctx, org.ID)
		if err != nil {
			return err
		}
		if len(page.Items) == 0 || page.Items[0].ID != ev.ID || int64(len(page.Items)) != seq || seq != ev.Seq {
			return fmt.Errorf("member %d appended seq %d, reads head %d and %d events", i, ev.Seq, seq, len(page.Items))
		}
		if i == 2 {
			_, err := tx.AuditEvents().Append(ctx, auditEvent(org, "2"), seal)
			return errors.Join(err, errBoom)
		}
		return nil
	})
	wantErrs(t, errs, 2, errBoom)
	if got, want := sortedTargets(checkChain(t, db, org)), []string{"0", "1", "3", "4", "5"}; !slices.Equal(got, want) {
		t.Errorf("events about %v, want %v", got, want)
	}
}

// TestAuditStaleHead: another process (here another DB on the same file)
// appending to an org's chain makes this process's cached chain end stale;
// its next append, refused by the database's chain guard, reads the chain
// afresh and inserts again within the same transaction, and the chain stays
// whole; the first sealer to run anchors every event, whoever linked it.
func TestAuditStaleHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "strata.db")
	db, other := open(t, path), open(t, path)
	migrate(t, db)
	ctx := t.Context()
	org := newOrg(t, db, "acme")
	_, err := db.AuditEvents().Append(ctx, auditEvent(org, "1"), seal)
	check(t, err)
	_, err = other.AuditEvents().Append(ctx, auditEvent(org, "2"), seal)
	check(t, err)
	runs := 0
	check(t, db.InTx(ctx, func(tx repo.Store) error {
		runs++
		if _, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "p"}); err != nil {
			return err
		}
		_, err := tx.AuditEvents().Append(ctx, auditEvent(org, "3"), seal)
		return err
	}))
	if runs != 1 {
		t.Errorf("the transaction ran %d times, want once", runs)
	}
	if stale := sqliterepo.StaleHeads(db); stale != 1 {
		t.Errorf("%d appends refused against a stale cached head, want 1", stale)
	}
	reg := prometheus.NewPedanticRegistry()
	if err := db.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if page := metricstest.Gather(t, reg); !strings.Contains(page, "\nstrata_sqlite_audit_stale_heads_total 1\n") {
		t.Errorf("metrics lack the stale head:\n%s", page)
	}
	if got, want := sortedTargets(checkChain(t, db, org)), []string{"1", "2", "3"}; !slices.Equal(got, want) {
		t.Errorf("events about %v, want %v", got, want)
	}
	if got := projectNames(t, db, org); !slices.Equal(got, []string{"p"}) {
		t.Errorf("projects %v", got)
	}
}

// TestAuditGroupRollbackForgetsHeads: a group that cannot commit (a member
// ended the whole transaction, as SQLITE_FULL would) empties the head cache,
// so that its members, run again, extend the chain from the stored heads
// with no append refused, and each of their events is in it once.
func TestAuditGroupRollbackForgetsHeads(t *testing.T) {
	db := openMigrated(t)
	org := newOrg(t, db, "acme")
	var once sync.Once
	errs := groupOf(t, db, org, 5, func(ctx context.Context, tx repo.Store, org repo.Org, i int) error {
		if _, err := tx.AuditEvents().Append(ctx, auditEvent(org, fmt.Sprint(i)), seal); err != nil {
			return err
		}
		var err error
		if i == 3 {
			once.Do(func() { err = sqliterepo.BreakGroup(db) })
		}
		return err
	})
	wantErrs(t, errs, -1, nil)
	if stale := sqliterepo.StaleHeads(db); stale != 0 {
		t.Errorf("%d appends refused against a stale cached head, want none", stale)
	}
	if got, want := sortedTargets(checkChain(t, db, org)), []string{"0", "1", "2", "3", "4"}; !slices.Equal(got, want) {
		t.Errorf("events about %v, want %v", got, want)
	}
}
