package service_test

import (
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// bootstrapInput is the org and owner TestBootstrap makes.
var bootstrapInput = service.BootstrapInput{OrgSlug: "acme", OrgName: "Acme", Email: "olive@example.com", Name: "Olive"}

// expectBootstrap expects Bootstrap's transaction up to its audit event, or
// only up to Orgs.Create when createErr is set (it fails with it), and
// returns the stored key.
func (f *fixture) expectBootstrap(commitErr, createErr error) *repo.APIKey {
	f.p = service.Principal{Request: f.p.Request} // the system acts
	f.expectInTx(f.store, commitErr)
	create := ret(f.tx.orgs.EXPECT().Create(anything, repo.NewOrg{Slug: "acme", Name: "Acme", Region: repo.DefaultRegion}), f.org, createErr)
	if createErr != nil {
		return nil
	}
	owner := f.builtin(rbac.Owner)
	user := repo.User{ID: f.user, Email: bootstrapInput.Email, Name: bootstrapInput.Name, Status: repo.UserActive}
	stored := &repo.APIKey{ID: f.key, OrgID: f.org.ID, UserID: f.user, Name: "bootstrap"}
	// Bootstrap may open the event's transaction inside its own: it joins.
	join := f.txStore.EXPECT().InTx(anything, anything).MaxTimes(1).
		DoAndReturn(func(_ any, fn func(repo.Store) error) error { return fn(f.txStore) })
	gomock.InOrder(
		create,
		f.tx.roles.EXPECT().Create(anything, f.org.ID, anything).Return(repo.Role{}, nil).Times(4),
		join,
		f.expectBump(1),
		f.tx.roles.EXPECT().GetByName(anything, f.org.ID, rbac.Owner).Return(owner, nil),
		f.tx.users.EXPECT().GetByEmail(anything, bootstrapInput.Email).Return(repo.User{}, repo.NotFound("user")),
		f.tx.users.EXPECT().Create(anything, repo.NewUser{Email: bootstrapInput.Email, Name: bootstrapInput.Name}).Return(user, nil),
		f.tx.members.EXPECT().Add(anything, f.org.ID, f.user).Return(repo.Member{OrgID: f.org.ID, User: user}, nil),
		f.tx.bindings.EXPECT().Create(anything, f.org.ID, repo.NewRoleBinding{UserID: f.user, RoleID: owner.ID}).Return(repo.RoleBinding{}, nil),
		f.tx.keys.EXPECT().Create(anything, f.org.ID, anything).DoAndReturn(func(_ any, _ any, in repo.NewAPIKey) (repo.APIKey, error) {
			if in.UserID != f.user || in.Name != "bootstrap" || in.ExpiresAt != nil {
				f.t.Errorf("APIKeys.Create(%+v)", in)
			}
			stored.SecretHash = in.SecretHash
			return *stored, nil
		}),
		f.expectAppend(event{action: "org.bootstrap", targetType: "org", targetID: f.org.ID.String(), outcome: repo.OutcomeSuccess,
			actorType: repo.ActorSystem, actorID: "strata",
			meta: map[string]any{"after": map[string]any{"slug": "acme", "owner": bootstrapInput.Email, "api_key_id": f.key}}}),
	)
	return stored
}

func TestBootstrap(t *testing.T) {
	f := newFixture(t)
	stored := f.expectBootstrap(nil, nil)
	f.expectInvalidate(1)
	org, k, err := f.svc.Bootstrap(f.ctx, bootstrapInput, f.p.Request)
	if err != nil {
		t.Fatal(err)
	}
	if org != f.org || k.APIKey.ID != f.key {
		t.Errorf("Bootstrap = %+v, %+v", org, k.APIKey)
	}
	if parts := keyFormat.FindStringSubmatch(k.Secret); parts == nil || string(secretHash(parts[2])) != string(stored.SecretHash) {
		t.Errorf("key %q does not match its stored hash", k.Secret)
	}
}

// TestBootstrapFailure: nothing is invalidated when the org cannot be
// created or the transaction does not commit.
func TestBootstrapFailure(t *testing.T) {
	for _, c := range []struct {
		name                 string
		commitErr, createErr error
	}{
		{"slug taken", nil, repo.Conflict("slug taken")},
		{"commit fails", errUnavailable, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectBootstrap(c.commitErr, c.createErr)
			_, _, err := f.svc.Bootstrap(f.ctx, bootstrapInput, f.p.Request)
			want := c.createErr
			if want == nil {
				want = c.commitErr
			}
			checkErr(t, err, want)
		})
	}
}
