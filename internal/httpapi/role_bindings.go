package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// Role bindings: routes, request bodies, the JSON shape and the handlers.

// roleBindingService is what the role-binding routes call of the service.
type roleBindingService interface {
	ListRoleBindings(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.RoleBinding], error)
	CreateRoleBinding(ctx context.Context, p service.Principal, slug string, in service.NewBinding) (repo.RoleBinding, error)
	DeleteRoleBinding(ctx context.Context, p service.Principal, slug string, id uuid.UUID) error
}

// roleBindingRoutes are the routes of /v1/orgs/{org}/role-bindings.
func (s *server) roleBindingRoutes() group {
	return group{tag: "role-bindings", about: "A role given to a member on the whole org or on one project.",
		params: map[string]param{"id": uuidPathParam("binding_id", "id", "")}, routes: []route{
			{"GET /v1/orgs/{org}/role-bindings", s.v1(listOf(s, toRoleBinding, Service.ListRoleBindings)), op{id: "listRoleBindings", summary: "List the org's role bindings.", needs: "roles.read", out: listJSON[roleBindingJSON]{}}},
			{"POST /v1/orgs/{org}/role-bindings", s.v1(s.createRoleBinding), op{id: "createRoleBinding", summary: "Bind a role to a member, org-wide or on one project.",
				about: "The caller must hold what the role grants at that scope.", needs: "roles.manage", in: roleBindingInput{UserID: "5f0c3a52-8d4e-4b8f-9a61-0d2b7c9e1f43", Role: "member"}, out: roleBindingJSON{}}},
			{"DELETE /v1/orgs/{org}/role-bindings/{id}", s.v1(s.deleteByID("id", Service.DeleteRoleBinding)), op{id: "deleteRoleBinding", summary: "Remove a role binding.",
				about: "The org keeps an owner (409).", needs: "roles.manage"}},
		}}
}

type roleBindingJSON struct {
	ID        uuid.UUID  `json:"id"`
	UserID    uuid.UUID  `json:"user_id"`
	RoleID    uuid.UUID  `json:"role_id"`
	ProjectID *uuid.UUID `json:"project_id" doc:"null: org-wide"`
	CreatedAt time.Time  `json:"created_at"`
}

func toRoleBinding(b repo.RoleBinding) roleBindingJSON {
	return roleBindingJSON{ID: b.ID, UserID: b.UserID, RoleID: b.RoleID, ProjectID: b.ProjectID, CreatedAt: b.CreatedAt.UTC()}
}

type roleBindingInput struct {
	UserID    string `json:"user_id" schema:"required,format=uuid"`
	Role      string `json:"role" schema:"required" doc:"The role's name."`
	ProjectID string `json:"project_id" schema:"format=uuid" doc:"Absent: org-wide."` // or ""
}

func (s *server) createRoleBinding(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[roleBindingInput](s, w, r)
	if err != nil {
		return err
	}
	userID, err := requiredID("user_id", in.UserID)
	if err != nil {
		return err
	}
	projectID, err := optionalID("project_id", in.ProjectID)
	if err != nil {
		return err
	}
	b, err := s.svc.CreateRoleBinding(r.Context(), p, org(r), service.NewBinding{UserID: userID, Role: in.Role, ProjectID: projectID})
	return s.reply(w, r, http.StatusCreated, toRoleBinding(b), err)
}
