package mocks_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/mocks"
	"github.com/strata-go/strata/repo"
)

// renameProject is a stand-in consumer: it renames a project and records an
// audit event in one transaction, the shape every service mutation has.
func renameProject(ctx context.Context, store repo.Store, orgID, id uuid.UUID, name string) error {
	return store.InTx(ctx, func(tx repo.Store) error {
		p, err := tx.Projects().Update(ctx, orgID, id, repo.ProjectUpdate{Name: &name})
		if err != nil {
			return err
		}
		_, err = tx.AuditEvents().Append(ctx, repo.AuditEvent{
			OrgID: orgID, ActorType: repo.ActorSystem, Action: "project.update",
			TargetType: "project", TargetID: p.ID.String(), Outcome: repo.OutcomeSuccess,
		}, func(*repo.AuditEvent) []byte { return make([]byte, 32) })
		return err
	})
}

// expectInTx makes store.InTx run its function against tx, the way a real
// Store runs it against a transaction-bound Store.
func expectInTx(store *mocks.MockStore, tx repo.Store) *gomock.Call {
	return store.EXPECT().InTx(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, fn func(repo.Store) error) error { return fn(tx) })
}

func TestRenameProjectAuditsInTheSameTransaction(t *testing.T) {
	ctrl := gomock.NewController(t)
	store, tx := mocks.NewMockStore(ctrl), mocks.NewMockStore(ctrl)
	projects, audit := mocks.NewMockProjects(ctrl), mocks.NewMockAuditEvents(ctrl)
	orgID, id := repo.NewID(), repo.NewID()

	expectInTx(store, tx)
	tx.EXPECT().Projects().Return(projects)
	tx.EXPECT().AuditEvents().Return(audit)
	update := projects.EXPECT().Update(gomock.Any(), orgID, id, gomock.Any()).
		Return(repo.Project{ID: id, OrgID: orgID, Name: "apollo"}, nil)
	audit.EXPECT().Append(gomock.Any(), gomock.Any(), gomock.Any()).After(update).
		DoAndReturn(func(_ context.Context, ev repo.AuditEvent, _ repo.Sealer) (repo.AuditEvent, error) {
			if ev.Action != "project.update" || ev.TargetID != id.String() || ev.OrgID != orgID {
				t.Errorf("audit event = %+v", ev)
			}
			return ev, nil
		})

	if err := renameProject(context.Background(), store, orgID, id, "apollo"); err != nil {
		t.Fatal(err)
	}
}

func TestRenameProjectNotFoundWritesNoEvent(t *testing.T) {
	ctrl := gomock.NewController(t)
	store, tx := mocks.NewMockStore(ctrl), mocks.NewMockStore(ctrl)
	projects := mocks.NewMockProjects(ctrl)

	expectInTx(store, tx)
	tx.EXPECT().Projects().Return(projects)
	projects.EXPECT().Update(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).
		Return(repo.Project{}, repo.NotFound("project"))
	// No AuditEvents() expectation: calling it would fail the test.

	err := renameProject(context.Background(), store, repo.NewID(), repo.NewID(), "apollo")
	if !errors.Is(err, repo.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}
