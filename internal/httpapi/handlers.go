package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// The /v1 handlers: read the path, query and body, call the service, answer.
// Each returns the error to answer; the service decides authorization,
// validation and tenancy.

// org is the slug a /v1 path names.
func org(r *http.Request) string { return r.PathValue("org") }

// reply answers v with status, or returns err.
func (s *server) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) error {
	if err != nil {
		return err
	}
	s.writeJSON(w, r, status, v)
	return nil
}

// noContent answers 204, or returns err.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// list answers one page of a list, {"items":[...],"next_cursor":"..."}.
func list[T, R any](s *server, w http.ResponseWriter, r *http.Request, conv func(T) R, fetch func(repo.PageRequest) (repo.Page[T], error)) error {
	page, err := pageRequest(r)
	if err != nil {
		return err
	}
	res, err := fetch(page)
	return s.reply(w, r, http.StatusOK, toList(res, conv), err)
}

// listFunc is a Service method listing one page of an org's T, e.g.
// Service.ListMembers.
type listFunc[T any] func(Service, context.Context, service.Principal, string, repo.PageRequest) (repo.Page[T], error)

// listOf serves a plain list route: ?limit=&cursor= in, a page of items out.
func listOf[T, R any](s *server, conv func(T) R, fetch listFunc[T]) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, p service.Principal) error {
		return list(s, w, r, conv, func(page repo.PageRequest) (repo.Page[T], error) {
			return fetch(s.svc, r.Context(), p, org(r), page)
		})
	}
}

// deleteFunc is a Service method removing one of an org's resources by ID,
// e.g. Service.DeleteProject.
type deleteFunc func(Service, context.Context, service.Principal, string, uuid.UUID) error

// deleteByID serves a DELETE route whose path names the resource by a UUID
// path value: 204, or 404 for an ID that is not a UUID.
func (s *server) deleteByID(param string, del deleteFunc) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, p service.Principal) error {
		id, err := pathID(r, param)
		if err != nil {
			return err
		}
		return noContent(w, del(s.svc, r.Context(), p, org(r), id))
	}
}

// Orgs.

type orgPatch struct {
	Name   *string `json:"name"`
	Region *string `json:"region"`
}

func (s *server) getOrg(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	o, err := s.svc.GetOrg(r.Context(), p, org(r))
	return s.reply(w, r, http.StatusOK, toOrg(o), err)
}

func (s *server) updateOrg(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[orgPatch](s, w, r)
	if err != nil {
		return err
	}
	o, err := s.svc.UpdateOrg(r.Context(), p, org(r), repo.OrgUpdate{Name: in.Name, Region: in.Region})
	return s.reply(w, r, http.StatusOK, toOrg(o), err)
}

// Members.

type memberInput struct {
	Email string `json:"email" schema:"required,format=email"`
	Name  string `json:"name"`
	Role  string "json:\"role\" doc:\"The role bound org-wide; default `member`.\""
}

func (s *server) addMember(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[memberInput](s, w, r)
	if err != nil {
		return err
	}
	m, err := s.svc.AddMember(r.Context(), p, org(r), service.NewMember{Email: in.Email, Name: in.Name, Role: in.Role})
	return s.reply(w, r, http.StatusCreated, toMember(m), err)
}

// Roles.

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

// Role bindings.

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

// API keys.

type apiKeyInput struct {
	Name      string `json:"name"`
	ExpiresAt string `json:"expires_at" schema:"format=date-time" doc:"RFC 3339; absent: never expires."`                                                  // or ""
	UserID    string `json:"user_id" schema:"format=uuid" doc:"The member the key acts as; absent: the caller. Needs every permission that member holds."` // or ""
}

func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[apiKeyInput](s, w, r)
	if err != nil {
		return err
	}
	expires, err := optionalTime("expires_at", in.ExpiresAt)
	if err != nil {
		return err
	}
	userID, err := optionalID("user_id", in.UserID)
	if err != nil {
		return err
	}
	nk := service.NewAPIKey{Name: in.Name}
	if userID != nil {
		nk.UserID = *userID
	}
	if !expires.IsZero() {
		nk.ExpiresAt = &expires
	}
	k, err := s.svc.CreateAPIKey(r.Context(), p, org(r), nk)
	return s.reply(w, r, http.StatusCreated, toNewAPIKey(k), err)
}
