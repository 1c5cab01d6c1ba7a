package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// Orgs: routes, request bodies, the JSON shape and the handlers.

// orgService is what the org routes call of the service.
type orgService interface {
	GetOrg(ctx context.Context, p service.Principal, slug string) (repo.Org, error)
	UpdateOrg(ctx context.Context, p service.Principal, slug string, in repo.OrgUpdate) (repo.Org, error)
}

// orgRoutes are the routes of /v1/orgs/{org}, the org itself.
func (s *server) orgRoutes() group {
	return group{tag: "orgs", about: "An org is a tenant: every other resource belongs to exactly one, and no call sees another org's data.", routes: []route{
		{"GET /v1/orgs/{org}", s.v1(s.getOrg), op{id: "getOrg", summary: "Get the org.", needs: "org.read", out: orgJSON{}}},
		{"PATCH /v1/orgs/{org}", s.v1(s.updateOrg), op{id: "updateOrg", summary: "Rename the org or change its home region.", needs: "org.update", in: orgPatch{Name: new("Acme Inc.")}, out: orgJSON{}}},
	}}
}

type orgJSON struct {
	ID        uuid.UUID `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toOrg(o repo.Org) orgJSON {
	return orgJSON{ID: o.ID, Slug: o.Slug, Name: o.Name, Region: o.Region, CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC()}
}

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
