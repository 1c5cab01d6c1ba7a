package rbac_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// The model of the issue, written out by hand: the tests compute every
// expected answer from these strings, never from the package.
const (
	everyPermission = "org.read org.update org.delete members.read members.manage roles.read roles.manage " +
		"projects.read projects.create projects.update projects.delete apikeys.manage audit.read"
	// projectPermissions are the ones a project binding grants.
	projectPermissions = "projects.read projects.update projects.delete"
)

// roleHolds lists what each built-in role holds.
var roleHolds = map[string]string{
	"owner": everyPermission,
	"admin": "org.read org.update members.read members.manage roles.read roles.manage " +
		"projects.read projects.create projects.update projects.delete apikeys.manage audit.read",
	"member": "org.read members.read roles.read projects.read projects.create projects.update",
	"viewer": "org.read members.read roles.read projects.read",
}

func has(list, perm string) bool { return slices.Contains(strings.Fields(list), perm) }

func TestPermissionListIsTheIssues(t *testing.T) {
	if got, want := rbac.All(), strings.Fields(everyPermission); !slices.Equal(got, want) {
		t.Errorf("All() = %v, want %v", got, want)
	}
	for _, p := range strings.Fields(everyPermission) {
		if got, want := rbac.ProjectScoped(p), has(projectPermissions, p); got != want {
			t.Errorf("ProjectScoped(%s) = %v, want %v", p, got, want)
		}
	}
	var names []string
	for _, r := range rbac.BuiltinRoles() {
		names = append(names, r.Name)
		if !r.Builtin {
			t.Errorf("role %s is not marked built-in", r.Name)
		}
		if err := rbac.ValidatePermissions(r.Permissions); err != nil {
			t.Errorf("role %s: %v", r.Name, err)
		}
	}
	if want := []string{"owner", "admin", "member", "viewer"}; !slices.Equal(names, want) {
		t.Errorf("built-in roles = %v, want %v", names, want)
	}
}

// TestMatrix checks every built-in role, bound org-wide or on one project,
// against every permission, on the org itself, on the bound project and on
// another project, through the cache and through Decide.
func TestMatrix(t *testing.T) {
	own, other := repo.NewID(), repo.NewID()
	checkScopes := []struct {
		name    string
		project *uuid.UUID
	}{{"org", nil}, {"own-project", &own}, {"other-project", &other}}
	bindScopes := []struct {
		name    string
		project *uuid.UUID
	}{{"bound-org-wide", nil}, {"bound-on-project", &own}}

	for role, holds := range roleHolds {
		for _, bs := range bindScopes {
			t.Run(role+"/"+bs.name, func(t *testing.T) {
				f := newFixture(t)
				g := grantOf(t, role, bs.project)
				f.expectGrants(1, g) // the cache reads once for all 39 checks
				a := rbac.New(f.bindings, rbac.Options{})
				uncached := newFixture(t)
				uncached.bindings.EXPECT().Grants(gomock.Any(), gomock.Any(), gomock.Any()).Return([]repo.Grant{g}, nil).AnyTimes()

				for _, perm := range strings.Fields(everyPermission) {
					for _, cs := range checkScopes {
						want := has(holds, perm) &&
							(bs.project == nil || cs.project == &own && has(projectPermissions, perm))
						name := fmt.Sprintf("%s@%s", perm, cs.name)

						d, err := a.Check(f.ctx, f.org, f.user, perm, cs.project)
						if err != nil {
							t.Fatalf("%s: %v", name, err)
						}
						if d.Allowed != want {
							t.Errorf("%s: allowed = %v, want %v (%s)", name, d.Allowed, want, d.Reason)
						}
						if want && (d.BindingID != g.BindingID || d.RoleID != g.RoleID || d.RoleName != role) {
							t.Errorf("%s: decision names %+v, want binding %s of role %s", name, d, g.BindingID, role)
						}
						if !want && (d.BindingID != uuid.Nil || d.Reason == "") {
							t.Errorf("%s: denial %+v names a binding or gives no reason", name, d)
						}
						err = a.Authorize(f.ctx, f.org, f.user, perm, cs.project)
						if want != (err == nil) || !want && !errors.Is(err, repo.ErrForbidden) {
							t.Errorf("%s: Authorize = %v, want allowed %v", name, err, want)
						}
						d2, err := rbac.Decide(f.ctx, uncached.bindings, f.org, f.user, perm, cs.project)
						if err != nil || d2 != d {
							t.Errorf("%s: Decide = %+v, %v; Check said %+v", name, d2, err, d)
						}
					}
				}
			})
		}
	}
}
