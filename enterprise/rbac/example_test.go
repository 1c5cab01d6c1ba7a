package rbac_test

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// staticGrants is a GrantSource over a fixed list; a real one is the
// primary's repo.RoleBindings.
type staticGrants []repo.Grant

func (s staticGrants) Grants(context.Context, uuid.UUID, uuid.UUID) ([]repo.Grant, error) {
	return s, nil
}

func ExampleAuthorizer_Check() {
	ctx := context.Background()
	org, user := uuid.MustParse("0190a6e0-0000-7000-8000-000000000001"), uuid.MustParse("0190a6e0-0000-7000-8000-000000000002")
	apollo, gemini := uuid.MustParse("0190a6e0-0000-7000-8000-0000000000a1"), uuid.MustParse("0190a6e0-0000-7000-8000-0000000000a2")

	// The user is a viewer of the org and an editor of project apollo.
	authz := rbac.New(staticGrants{
		{BindingID: uuid.MustParse("0190a6e0-0000-7000-8000-0000000000b1"), RoleName: "viewer",
			Permissions: []string{rbac.OrgRead, rbac.MembersRead, rbac.RolesRead, rbac.ProjectsRead}, UserStatus: repo.UserActive},
		{BindingID: uuid.MustParse("0190a6e0-0000-7000-8000-0000000000b2"), RoleName: "editor", ProjectID: &apollo,
			Permissions: []string{"projects.*"}, UserStatus: repo.UserActive},
	}, rbac.Options{})

	for _, project := range []*uuid.UUID{&apollo, &gemini} {
		d, _ := authz.Check(ctx, org, user, rbac.ProjectsUpdate, project)
		fmt.Println(d.Allowed, d.Reason)
	}
	err := authz.Authorize(ctx, org, user, rbac.ProjectsCreate, nil)
	fmt.Println(err)
	// Output:
	// true granted by role "editor" bound on project 0190a6e0-0000-7000-8000-0000000000a1
	// false no binding of the user grants the permission on this project or org-wide
	// "projects.create" in the org denied: no org-wide binding of the user grants the permission
}
