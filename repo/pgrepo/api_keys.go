package pgrepo

import (
	"context"
	"time"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type apiKeys struct{ s *Store }

func toAPIKey(k pgdb.ApiKey) repo.APIKey {
	return repo.APIKey{
		ID: k.ID, OrgID: k.OrgID, UserID: k.UserID, Name: k.Name, SecretHash: k.SecretHash,
		CreatedAt: repo.Timestamp(k.CreatedAt), ExpiresAt: optTime(k.ExpiresAt), RevokedAt: optTime(k.RevokedAt),
	}
}

func optTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := repo.Timestamp(*t)
	return &v
}

func (r apiKeys) Create(ctx context.Context, orgID uuid.UUID, in repo.NewAPIKey) (repo.APIKey, error) {
	if err := repo.ValidateNewAPIKey(in); err != nil {
		return repo.APIKey{}, err
	}
	k, err := r.s.w.CreateAPIKey(ctx, pgdb.CreateAPIKeyParams{
		ID: repo.NewID(), OrgID: orgID, UserID: in.UserID, Name: in.Name, SecretHash: in.SecretHash,
		CreatedAt: repo.Now(), ExpiresAt: optTime(in.ExpiresAt),
	})
	return one(k, err, "api key", toAPIKey)
}

func (r apiKeys) Lookup(ctx context.Context, id uuid.UUID) (repo.APIKey, error) {
	k, err := r.s.r.GetAPIKey(ctx, id)
	return one(k, err, "api key", toAPIKey)
}

func (r apiKeys) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.APIKey], error) {
	return listByID(ctx, "api_keys", page, func(after uuid.UUID, lim int32) ([]pgdb.ApiKey, error) {
		return r.s.r.ListAPIKeys(ctx, pgdb.ListAPIKeysParams{OrgID: orgID, After: after, Lim: lim})
	}, toAPIKey, func(k repo.APIKey) uuid.UUID { return k.ID })
}

func (r apiKeys) Revoke(ctx context.Context, orgID, id uuid.UUID) error {
	n, err := r.s.w.RevokeAPIKey(ctx, pgdb.RevokeAPIKeyParams{RevokedAt: ptr(repo.Now()), OrgID: orgID, ID: id})
	return affected(n, err, "api key")
}

func ptr[T any](v T) *T { return &v }

func (r apiKeys) Credential(ctx context.Context, id uuid.UUID) (repo.Credential, error) {
	row, err := r.s.r.GetAPIKeyCredential(ctx, id)
	if err != nil {
		return repo.Credential{}, notFoundOr(err, "api key")
	}
	return repo.Credential{Key: toAPIKey(row.ApiKey), UserStatus: repo.UserStatus(row.UserStatus), PolicyVersion: row.PolicyVersion}, nil
}
