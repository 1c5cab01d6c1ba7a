package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// Members: routes, request bodies, the JSON shape and the handlers.

// memberService is what the member routes call of the service.
type memberService interface {
	ListMembers(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.Member], error)
	AddMember(ctx context.Context, p service.Principal, slug string, in service.NewMember) (repo.Member, error)
	RemoveMember(ctx context.Context, p service.Principal, slug string, userID uuid.UUID) error
}

// memberRoutes are the routes of /v1/orgs/{org}/members.
func (s *server) memberRoutes() group {
	return group{tag: "members", about: "Users who belong to the org, each with a role on the whole org.",
		params: map[string]param{"user_id": uuidPathParam("user_id", "user_id", "")}, routes: []route{
			{"GET /v1/orgs/{org}/members", s.v1(listOf(s, toMember, Service.ListMembers)), op{id: "listMembers", summary: "List the org's members.", needs: "members.read", out: listJSON[memberJSON]{}}},
			{"POST /v1/orgs/{org}/members", s.v1(s.addMember), op{id: "addMember", summary: "Add a user, found by email or created, with a role bound org-wide.",
				about: "The caller must hold every permission the role grants.", needs: "members.manage", in: memberInput{Email: "ada@acme.test", Name: "Ada Lovelace", Role: "viewer"}, out: memberJSON{}}},
			{"DELETE /v1/orgs/{org}/members/{user_id}", s.v1(s.deleteByID("user_id", Service.RemoveMember)), op{id: "removeMember", summary: "Remove a member with their role bindings and API keys in the org.",
				about: "The last owner cannot be removed (409).", needs: "members.manage", answer: "Removed"}},
		}}
}

type memberJSON struct {
	UserID   uuid.UUID `json:"user_id"`
	Email    string    `json:"email" schema:"format=email"`
	Name     string    `json:"name"`
	Status   string    `json:"status" schema:"enum=active suspended"`
	JoinedAt time.Time `json:"joined_at"`
}

func toMember(m repo.Member) memberJSON {
	return memberJSON{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Status: string(m.User.Status), JoinedAt: m.JoinedAt.UTC()}
}

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
