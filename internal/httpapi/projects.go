package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// Projects: routes, request bodies, the JSON shape and the handlers.

// projectService is what the project routes call of the service.
type projectService interface {
	ListProjects(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.Project], error)
	GetProject(ctx context.Context, p service.Principal, slug string, id uuid.UUID) (repo.Project, error)
	CreateProject(ctx context.Context, p service.Principal, slug string, in repo.NewProject) (repo.Project, error)
	UpdateProject(ctx context.Context, p service.Principal, slug string, id uuid.UUID, in repo.ProjectUpdate) (repo.Project, error)
	DeleteProject(ctx context.Context, p service.Principal, slug string, id uuid.UUID) error
}

// projectRoutes are the routes of /v1/orgs/{org}/projects.
func (s *server) projectRoutes() group {
	return group{tag: "projects", about: "The org's projects: the example resource of the data layer.",
		params: map[string]param{"id": uuidPathParam("project_id", "id", "")}, routes: []route{
			{"GET /v1/orgs/{org}/projects", s.v1(listOf(s, toProject, Service.ListProjects)),
				op{id: "listProjects", summary: "List the org's projects.", needs: "projects.read (org-wide)", out: listJSON[projectJSON]{}}},
			{"POST /v1/orgs/{org}/projects", s.v1(s.createProject),
				op{id: "createProject", summary: "Create a project.", needs: "projects.create", in: projectInput{Name: "website", Description: "The public site."}, out: projectJSON{}}},
			{"GET /v1/orgs/{org}/projects/{id}", s.v1(s.getProject),
				op{id: "getProject", summary: "Get a project.", needs: "projects.read (on the project)", out: projectJSON{}}},
			{"PATCH /v1/orgs/{org}/projects/{id}", s.v1(s.updateProject),
				op{id: "updateProject", summary: "Change a project's name or description; absent fields are unchanged.", needs: "projects.update (on the project)", in: projectPatch{Description: new("The public site, in three languages.")}, out: projectJSON{}}},
			{"DELETE /v1/orgs/{org}/projects/{id}", s.v1(s.deleteByID("id", Service.DeleteProject)),
				op{id: "deleteProject", summary: "Delete a project and its project-scoped role bindings.", needs: "projects.delete (on the project)"}},
		}}
}

type projectJSON struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toProject(p repo.Project) projectJSON {
	return projectJSON{ID: p.ID, Name: p.Name, Description: p.Description, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

type projectInput struct {
	Name        string `json:"name" schema:"required"`
	Description string `json:"description"`
}

// projectPatch leaves a field absent (or null) unchanged.
type projectPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

func (s *server) createProject(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[projectInput](s, w, r)
	if err != nil {
		return err
	}
	pr, err := s.svc.CreateProject(r.Context(), p, org(r), repo.NewProject{Name: in.Name, Description: in.Description})
	return s.reply(w, r, http.StatusCreated, toProject(pr), err)
}

func (s *server) getProject(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	pr, err := s.svc.GetProject(r.Context(), p, org(r), pathID(r, "id"))
	return s.reply(w, r, http.StatusOK, toProject(pr), err)
}

func (s *server) updateProject(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[projectPatch](s, w, r)
	if err != nil {
		return err
	}
	pr, err := s.svc.UpdateProject(r.Context(), p, org(r), pathID(r, "id"), repo.ProjectUpdate{Name: in.Name, Description: in.Description})
	return s.reply(w, r, http.StatusOK, toProject(pr), err)
}
