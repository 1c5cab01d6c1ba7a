package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// Environments: routes, request bodies, the JSON shape and the handlers.

// environmentService is what the environment routes call of the service.
type environmentService interface {
	ListEnvironments(ctx context.Context, p service.Principal, slug string, project uuid.UUID, page repo.PageRequest) (repo.Page[repo.Environment], error)
	GetEnvironment(ctx context.Context, p service.Principal, slug string, project, id uuid.UUID) (repo.Environment, error)
	CreateEnvironment(ctx context.Context, p service.Principal, slug string, project uuid.UUID, in repo.NewEnvironment) (repo.Environment, error)
	UpdateEnvironment(ctx context.Context, p service.Principal, slug string, project, id uuid.UUID, in repo.EnvironmentUpdate) (repo.Environment, error)
	DeleteEnvironment(ctx context.Context, p service.Principal, slug string, project, id uuid.UUID) error
}

// environmentRoutes are the routes of a project's environments. They need
// the project's permissions, on the project.
func (s *server) environmentRoutes() group {
	const envs = "/v1/orgs/{org}/projects/{project_id}/environments"
	return group{tag: "environments", about: "A project's named deployment targets: production, staging, ...",
		params: map[string]param{
			"project_id":     uuidPathParam("", "project_id", "The project's ID."),
			"environment_id": uuidPathParam("environment_id", "environment_id", ""),
		}, routes: []route{
			{"GET " + envs, s.v1(s.listEnvironments),
				op{id: "listEnvironments", summary: "List a project's environments.", needs: "projects.read (on the project)", out: listJSON[environmentJSON]{}}},
			{"POST " + envs, s.v1(s.createEnvironment),
				op{id: "createEnvironment", summary: "Add an environment to a project.", needs: "projects.update (on the project)", in: environmentInput{Name: "production"}, out: environmentJSON{}}},
			{"GET " + envs + "/{environment_id}", s.v1(s.getEnvironment),
				op{id: "getEnvironment", summary: "Get an environment.", needs: "projects.read (on the project)", out: environmentJSON{}}},
			{"PATCH " + envs + "/{environment_id}", s.v1(s.updateEnvironment),
				op{id: "updateEnvironment", summary: "Change an environment's name or description; absent fields are unchanged.", needs: "projects.update (on the project)", in: environmentPatch{Description: new("Serves eu-west-1.")}, out: environmentJSON{}}},
			{"DELETE " + envs + "/{environment_id}", s.v1(s.deleteEnvironment),
				op{id: "deleteEnvironment", summary: "Delete an environment.", needs: "projects.update (on the project)"}},
		}}
}

type environmentJSON struct {
	ID          uuid.UUID `json:"id"`
	ProjectID   uuid.UUID `json:"project_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toEnvironment(e repo.Environment) environmentJSON {
	return environmentJSON{ID: e.ID, ProjectID: e.ProjectID, Name: e.Name, Description: e.Description, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

// environmentInput and environmentPatch are a project's.
type (
	environmentInput projectInput
	environmentPatch projectPatch
)

func (s *server) listEnvironments(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	return list(s, w, r, toEnvironment, func(page repo.PageRequest) (repo.Page[repo.Environment], error) {
		return s.svc.ListEnvironments(r.Context(), p, org(r), pathID(r, "project_id"), page)
	})
}

func (s *server) createEnvironment(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[environmentInput](s, w, r)
	if err != nil {
		return err
	}
	e, err := s.svc.CreateEnvironment(r.Context(), p, org(r), pathID(r, "project_id"), repo.NewEnvironment{Name: in.Name, Description: in.Description})
	return s.reply(w, r, http.StatusCreated, toEnvironment(e), err)
}

func (s *server) getEnvironment(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	e, err := s.svc.GetEnvironment(r.Context(), p, org(r), pathID(r, "project_id"), pathID(r, "environment_id"))
	return s.reply(w, r, http.StatusOK, toEnvironment(e), err)
}

func (s *server) updateEnvironment(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	in, err := decode[environmentPatch](s, w, r)
	if err != nil {
		return err
	}
	e, err := s.svc.UpdateEnvironment(r.Context(), p, org(r), pathID(r, "project_id"), pathID(r, "environment_id"),
		repo.EnvironmentUpdate{Name: in.Name, Description: in.Description})
	return s.reply(w, r, http.StatusOK, toEnvironment(e), err)
}

func (s *server) deleteEnvironment(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	return noContent(w, s.svc.DeleteEnvironment(r.Context(), p, org(r), pathID(r, "project_id"), pathID(r, "environment_id")))
}
