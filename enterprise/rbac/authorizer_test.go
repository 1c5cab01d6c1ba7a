package rbac_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// checkAll asserts, for every permission on the org, on project own and on
// another project, that the user is allowed exactly what want says.
func checkAll(t *testing.T, f fixture, a *rbac.Authorizer, own uuid.UUID, want func(perm string, project *uuid.UUID) bool) {
	t.Helper()
	other := repo.NewID()
	for _, perm := range strings.Fields(everyPermission) {
		for _, p := range []*uuid.UUID{nil, &own, &other} {
			if got, want := allowed(t, a, f.org, f.user, perm, p), want(perm, p); got != want {
				t.Errorf("%s on %v: allowed = %v, want %v", perm, p, got, want)
			}
		}
	}
}

func TestSuspendedUserIsDeniedEverything(t *testing.T) {
	f := newFixture(t)
	own := repo.NewID()
	f.expectGrants(1, suspended(grantOf(t, "owner", nil), grantOf(t, "admin", &own))...)
	a := rbac.New(f.bindings, rbac.Options{})
	checkAll(t, f, a, own, func(string, *uuid.UUID) bool { return false })
	d, _ := a.Check(f.ctx, f.org, f.user, rbac.OrgRead, nil)
	if !strings.Contains(d.Reason, "suspended") {
		t.Errorf("reason = %q, want it to say suspended", d.Reason)
	}
}

func TestUnknownStatusIsDenied(t *testing.T) {
	f := newFixture(t)
	g := grantOf(t, "owner", nil)
	g.UserStatus = ""
	f.expectGrants(1, g)
	a := rbac.New(f.bindings, rbac.Options{})
	checkAll(t, f, a, repo.NewID(), func(string, *uuid.UUID) bool { return false })
}

func TestNoBindingsIsDeniedEverything(t *testing.T) {
	f := newFixture(t)
	f.expectGrants(1) // cached too: a stranger costs one query per version
	a := rbac.New(f.bindings, rbac.Options{})
	checkAll(t, f, a, repo.NewID(), func(string, *uuid.UUID) bool { return false })
	err := a.Authorize(f.ctx, f.org, f.user, rbac.ProjectsRead, nil)
	if !errors.Is(err, repo.ErrForbidden) || !strings.Contains(err.Error(), "no role bindings") {
		t.Errorf("Authorize = %v, want ErrForbidden saying there are no bindings", err)
	}
}

func TestWildcards(t *testing.T) {
	own := repo.NewID()
	for _, tc := range []struct {
		name   string
		grants []repo.Grant
		want   func(perm string, project *uuid.UUID) bool
	}{
		{"projects.* org-wide", []repo.Grant{grant("pm", nil, "projects.*")},
			func(p string, _ *uuid.UUID) bool { return strings.HasPrefix(p, "projects.") }},
		{"projects.* on a project", []repo.Grant{grant("pm", &own, "projects.*")},
			func(p string, pr *uuid.UUID) bool { return pr != nil && *pr == own && has(projectPermissions, p) }},
		{"* on a project", []repo.Grant{grant("boss", &own, "*")},
			func(p string, pr *uuid.UUID) bool { return pr != nil && *pr == own && has(projectPermissions, p) }},
		{"* org-wide", []repo.Grant{grant("boss", nil, "*")},
			func(string, *uuid.UUID) bool { return true }},
		{"members.* and audit.* org-wide", []repo.Grant{grant("hr", nil, "members.*", "audit.*")},
			func(p string, _ *uuid.UUID) bool { return strings.HasPrefix(p, "members.") || p == "audit.read" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectGrants(1, tc.grants...)
			checkAll(t, f, rbac.New(f.bindings, rbac.Options{}), own, tc.want)
		})
	}
}

func TestCustomRoles(t *testing.T) {
	own := repo.NewID()
	f := newFixture(t)
	f.expectGrants(1,
		grant("auditor", nil, "audit.read", "some.future_permission", "future.*"), // unknown: grant nothing
		grant("editor", &own, "projects.read", "projects.update", "projects.create", "org.update"),
	)
	checkAll(t, f, rbac.New(f.bindings, rbac.Options{}), own, func(p string, pr *uuid.UUID) bool {
		onOwn := pr != nil && *pr == own
		return p == "audit.read" || onOwn && (p == "projects.read" || p == "projects.update")
	})
}

func TestDecisionNamesTheBinding(t *testing.T) {
	own := repo.NewID()
	f := newFixture(t)
	viewer, editor, admin := grantOf(t, "viewer", nil), grant("editor", &own, "projects.*"), grantOf(t, "admin", nil)
	f.expectGrants(1, viewer, editor, admin)
	a := rbac.New(f.bindings, rbac.Options{})
	for _, tc := range []struct {
		perm    string
		project *uuid.UUID
		want    repo.Grant
	}{
		{rbac.ProjectsRead, &own, viewer},  // org-wide bindings first
		{rbac.ProjectsDelete, &own, admin}, // org-wide before the project binding
		{rbac.ProjectsUpdate, nil, admin},  // no project: org-wide only
		{rbac.ProjectsUpdate, &own, admin},
		{rbac.AuditRead, nil, admin},
		{rbac.OrgRead, &own, viewer}, // first in binding order
		{rbac.ProjectsRead, ptr(own), viewer},
	} {
		d, err := a.Check(f.ctx, f.org, f.user, tc.perm, tc.project)
		if err != nil || !d.Allowed || d.BindingID != tc.want.BindingID || d.RoleID != tc.want.RoleID || d.RoleName != tc.want.RoleName {
			t.Errorf("%s: %+v, %v; want binding of %s", tc.perm, d, err, tc.want.RoleName)
		}
		if !strings.Contains(d.Reason, tc.want.RoleName) {
			t.Errorf("%s: reason %q does not name role %s", tc.perm, d.Reason, tc.want.RoleName)
		}
	}
}

func TestProjectBindingExplained(t *testing.T) {
	own := repo.NewID()
	f := newFixture(t)
	editor := grant("editor", &own, "projects.*")
	f.expectGrants(1, editor)
	d, err := rbac.New(f.bindings, rbac.Options{}).Check(f.ctx, f.org, f.user, rbac.ProjectsDelete, &own)
	if err != nil || !d.Allowed || d.BindingID != editor.BindingID || !strings.Contains(d.Reason, own.String()) {
		t.Errorf("Check = %+v, %v; want the project binding, its project named", d, err)
	}
}

func TestUnknownPermissionIsInvalid(t *testing.T) {
	f := newFixture(t) // no Grants expected: refused before any query
	a := rbac.New(f.bindings, rbac.Options{})
	for _, perm := range []string{"", "projects.*", "*", "projects.archive", "Projects.read"} {
		_, err := a.Check(f.ctx, f.org, f.user, perm, nil)
		if !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("Check(%q) = %v, want ErrInvalid", perm, err)
		}
		if err := a.Authorize(f.ctx, f.org, f.user, perm, nil); !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("Authorize(%q) = %v, want ErrInvalid", perm, err)
		}
		if _, err := rbac.Decide(f.ctx, f.bindings, f.org, f.user, perm, nil); !errors.Is(err, repo.ErrInvalid) {
			t.Errorf("Decide(%q) = %v, want ErrInvalid", perm, err)
		}
	}
}

func TestReadErrorsFailClosedAndAreNotCached(t *testing.T) {
	f := newFixture(t)
	boom := &repo.Error{Kind: repo.ErrUnavailable, Message: "database is down"}
	first := f.bindings.EXPECT().Grants(f.ctx, f.org, f.user).Return(nil, boom)
	f.expectGrants(1, grantOf(t, "owner", nil)).After(first)
	a := rbac.New(f.bindings, rbac.Options{})

	d, err := a.Check(f.ctx, f.org, f.user, rbac.OrgRead, nil)
	if !errors.Is(err, repo.ErrUnavailable) || d.Allowed {
		t.Fatalf("Check = %+v, %v; want a denial and ErrUnavailable", d, err)
	}
	if err := a.Authorize(f.ctx, f.org, f.user, rbac.OrgRead, nil); err != nil {
		t.Fatalf("after recovery: %v", err) // the error was not cached
	}
	if _, err := rbac.Decide(f.ctx, errSource{boom}, f.org, f.user, rbac.OrgRead, nil); !errors.Is(err, repo.ErrUnavailable) {
		t.Errorf("Decide = %v, want ErrUnavailable", err)
	}
}

// errSource is a GrantSource that always fails.
type errSource struct{ err error }

func (s errSource) Grants(context.Context, uuid.UUID, uuid.UUID) ([]repo.Grant, error) {
	return nil, s.err
}
