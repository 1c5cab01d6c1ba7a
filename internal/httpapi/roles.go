package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// Roles: routes, request bodies, the JSON shape and the handlers.

// roleService is what the role routes call of the service.
type roleService interface {
	ListRoles(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.Role], error)
	CreateRole(ctx context.Context, p service.Principal, slug, name string, perms []string) (repo.Role, error)
	UpdateRole(ctx context.Context, p service.Principal, slug, name string, perms []string) (repo.Role, error)
	DeleteRole(ctx context.Context, p service.Principal, slug, name string) error
}

// roleRoutes are the routes of /v1/orgs/{org}/roles.
func (s *server) roleRoutes() group {
	return group{tag: "roles", about: "Sets of permissions (`resource.verb`); four built-in roles (owner, admin, member, viewer) and the org's custom ones.",
		params: map[string]param{"name": {ref: "role_name", Name: "name", In: "path", Required: true, Schema: stringSchema, Description: "The role's name."}}, routes: []route{
			{"GET /v1/orgs/{org}/roles", s.v1(listOf(s, toRole, Service.ListRoles)), op{id: "listRoles", summary: "List the org's roles, built-in ones included.", needs: "roles.read", out: listJSON[roleJSON]{}}},
			{"POST /v1/orgs/{org}/roles", s.v1(s.createRole), op{id: "createRole", summary: "Create a custom role.",
				about: "The caller must hold every permission the role grants.", needs: "roles.manage", in: roleInput{Name: "deployer", Permissions: []string{"projects.read", "projects.update"}}, out: roleJSON{}}},
			{"PUT /v1/orgs/{org}/roles/{name}", s.v1(s.updateRole), op{id: "updateRole", summary: "Replace a custom role's permissions.",
				about: "Built-in roles are a conflict (409). The caller must hold every permission the role grants after the change.", needs: "roles.manage", in: rolePermissions{Permissions: []string{"projects.read"}}, out: roleJSON{}}},
			{"DELETE /v1/orgs/{org}/roles/{name}", s.v1(s.deleteRole), op{id: "deleteRole", summary: "Delete a custom role that is no longer bound.", needs: "roles.manage"}},
		}}
}

type roleJSON struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Builtin     bool      `json:"builtin"`
	Permissions []string  "json:\"permissions\" doc:\"Permissions like `projects.update`, or wildcards `projects.*` and `*`.\""
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toRole(r repo.Role) roleJSON {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return roleJSON{ID: r.ID, Name: r.Name, Builtin: r.Builtin, Permissions: perms, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type roleInput struct {
	Name        string   `json:"name" schema:"required"`
	Permissions []string "json:\"permissions\" schema:\"required\" doc:\"Permissions like `projects.update`, or wildcards `projects.*` and `*`.\""
}

type rolePermissions struct {
	Permissions []string "json:\"permissions\" schema:\"required\" doc:\"Permissions like `projects.update`, or wildcards `projects.*` and `*`.\""
}

// roleName reads a role name path value. A malformed name names no role
// that could exist, so it is a 404.
func roleName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if repo.ValidateRoleName(name) != nil {
		return "", repo.NotFound("role")
	}
	return name, nil
}

func (s *server) createRole(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[roleInput](s, w, r)
	if err != nil {
		return err
	}
	role, err := s.svc.CreateRole(r.Context(), p, org(r), in.Name, in.Permissions)
	return s.reply(w, r, http.StatusCreated, toRole(role), err)
}

func (s *server) updateRole(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	name, err := roleName(r)
	if err != nil {
		return err
	}
	in, err := decode[rolePermissions](s, w, r)
	if err != nil {
		return err
	}
	role, err := s.svc.UpdateRole(r.Context(), p, org(r), name, in.Permissions)
	return s.reply(w, r, http.StatusOK, toRole(role), err)
}

func (s *server) deleteRole(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	name, err := roleName(r)
	if err != nil {
		return err
	}
	return noContent(w, s.svc.DeleteRole(r.Context(), p, org(r), name))
}
