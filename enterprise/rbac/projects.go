package rbac

// The permissions of projects (listed in known, in permissions.go, which
// fixes their slots, and granted to the built-in roles in roles.go).
const (
	ProjectsRead   = "projects.read"   // see a project (project-scoped)
	ProjectsCreate = "projects.create" // create a project in the org
	ProjectsUpdate = "projects.update" // change a project (project-scoped)
	ProjectsDelete = "projects.delete" // delete a project (project-scoped)
)

// projectScopedPermissions are the permissions a binding on one project can
// grant (ProjectScoped).
var projectScopedPermissions = []string{ProjectsRead, ProjectsUpdate, ProjectsDelete}
