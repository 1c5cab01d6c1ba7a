package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// API keys: routes, request bodies, the JSON shape and the handlers.

// apiKeyService is what the API-key routes call of the service.
type apiKeyService interface {
	ListAPIKeys(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.APIKey], error)
	CreateAPIKey(ctx context.Context, p service.Principal, slug string, in service.NewAPIKey) (service.NewKey, error)
	RevokeAPIKey(ctx context.Context, p service.Principal, slug string, id uuid.UUID) error
}

// apiKeyRoutes are the routes of /v1/orgs/{org}/api-keys.
func (s *server) apiKeyRoutes() group {
	return group{tag: "api-keys", about: "Bearer credentials, one user's each: shown once on creation, stored hashed, revocable.",
		params: map[string]param{"id": uuidPathParam("key_id", "id", "")}, routes: []route{
			{"GET /v1/orgs/{org}/api-keys", s.v1(listOf(s, toAPIKey, Service.ListAPIKeys)), op{id: "listAPIKeys", summary: "List the org's API keys, never their secrets.", needs: "apikeys.manage", out: listJSON[apiKeyJSON]{}}},
			{"POST /v1/orgs/{org}/api-keys", s.v1(s.createAPIKey), op{id: "createAPIKey", summary: "Make an API key for the caller; its secret is in the answer, once.", needs: "apikeys.manage", in: apiKeyInput{Name: "ci"}, out: newAPIKeyJSON{}}},
			{"DELETE /v1/orgs/{org}/api-keys/{id}", s.v1(s.deleteByID("id", Service.RevokeAPIKey)), op{id: "revokeAPIKey", summary: "Revoke an API key; it stops working at once.", needs: "apikeys.manage", answer: "Revoked"}},
		}}
}

type apiKeyJSON struct {
	ID        uuid.UUID  `json:"id"`
	UserID    uuid.UUID  `json:"user_id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func toAPIKey(k repo.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, UserID: k.UserID, Name: k.Name, CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utcPtr(k.ExpiresAt), RevokedAt: utcPtr(k.RevokedAt)}
}

// newAPIKeyJSON is a key just made: the one answer that carries the secret.
type newAPIKeyJSON struct {
	apiKeyJSON
	Key string "json:\"key\" doc:\"The whole API key, `strata_<id>_<secret>`: shown this once, never again.\""
}

func toNewAPIKey(k service.NewKey) newAPIKeyJSON {
	return newAPIKeyJSON{apiKeyJSON: toAPIKey(k.APIKey), Key: k.Secret}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

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
