package rbac_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/mocks"
	"github.com/strata-go/strata/repo"
)

// builtin returns the definition of a built-in role, as the package seeds it.
func builtin(t testing.TB, name string) repo.NewRole {
	t.Helper()
	for _, r := range rbac.BuiltinRoles() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no built-in role %q", name)
	return repo.NewRole{}
}

// grant makes one active binding of a role with the given permissions, on
// the whole org (project nil) or on one project.
func grant(name string, project *uuid.UUID, perms ...string) repo.Grant {
	return repo.Grant{
		BindingID: repo.NewID(), ProjectID: project, RoleID: repo.NewID(),
		RoleName: name, Permissions: perms, UserStatus: repo.UserActive,
	}
}

// grantOf makes one active binding of a built-in role.
func grantOf(t testing.TB, role string, project *uuid.UUID) repo.Grant {
	t.Helper()
	return grant(role, project, builtin(t, role).Permissions...)
}

// suspended returns the grants with the user's status set to suspended.
func suspended(gs ...repo.Grant) []repo.Grant {
	out := make([]repo.Grant, len(gs))
	for i, g := range gs {
		g.UserStatus = repo.UserSuspended
		out[i] = g
	}
	return out
}

// ptr returns a pointer to a copy of id.
func ptr(id uuid.UUID) *uuid.UUID { return &id }

// quiet is a logger that drops everything.
var quiet = slog.New(slog.DiscardHandler)

// fixture is an org, a user and mocks of the repositories an Authorizer reads.
type fixture struct {
	ctx      context.Context
	org      uuid.UUID
	user     uuid.UUID
	bindings *mocks.MockRoleBindings
	orgs     *mocks.MockOrgs
}

func newFixture(t *testing.T) fixture {
	ctrl := gomock.NewController(t)
	return fixture{
		ctx: t.Context(), org: repo.NewID(), user: repo.NewID(),
		bindings: mocks.NewMockRoleBindings(ctrl), orgs: mocks.NewMockOrgs(ctrl),
	}
}

// expectGrants expects n reads of the user's grants, answering gs.
func (f fixture) expectGrants(n int, gs ...repo.Grant) *gomock.Call {
	return f.bindings.EXPECT().Grants(gomock.Any(), f.org, f.user).Return(gs, nil).Times(n)
}

// allowed runs a check that must not fail and returns whether it allowed.
func allowed(t testing.TB, a *rbac.Authorizer, org, user uuid.UUID, perm string, project *uuid.UUID) bool {
	t.Helper()
	d, err := a.Check(context.Background(), org, user, perm, project)
	if err != nil {
		t.Fatalf("Check(%s): %v", perm, err)
	}
	return d.Allowed
}
