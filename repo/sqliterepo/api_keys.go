package sqliterepo

import (
	"context"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// apiKeys implements repo.APIKeys.
type apiKeys struct{ s *store }

func (r apiKeys) Create(ctx context.Context, orgID uuid.UUID, in repo.NewAPIKey) (repo.APIKey, error) {
	if err := repo.ValidateNewAPIKey(in); err != nil {
		return repo.APIKey{}, err
	}
	row, err := r.s.write.CreateAPIKey(ctx, sqlitedb.CreateAPIKeyParams{
		ID: repo.NewID(), OrgID: orgID, UserID: in.UserID, Name: in.Name, SecretHash: in.SecretHash,
		CreatedAt: formatTime(repo.Now()), ExpiresAt: formatTimePtr(in.ExpiresAt),
	})
	return one(row, err, "api key", toAPIKey)
}

func (r apiKeys) Lookup(ctx context.Context, id uuid.UUID) (repo.APIKey, error) {
	row, err := r.s.read.GetAPIKey(ctx, id)
	return one(row, err, "api key", toAPIKey)
}

func (r apiKeys) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.APIKey], error) {
	return listByID("api_keys", page, func(after uuid.UUID, limit int64) ([]sqlitedb.ApiKey, error) {
		return r.s.read.ListAPIKeys(ctx, sqlitedb.ListAPIKeysParams{OrgID: orgID, After: after, Lim: limit})
	}, toAPIKey, func(k repo.APIKey) uuid.UUID { return k.ID })
}

func (r apiKeys) Revoke(ctx context.Context, orgID, id uuid.UUID) error {
	now := formatTime(repo.Now())
	n, err := r.s.write.RevokeAPIKey(ctx, sqlitedb.RevokeAPIKeyParams{RevokedAt: &now, OrgID: orgID, ID: id})
	return deleted(n, err, "api key")
}

func (r apiKeys) Credential(ctx context.Context, id uuid.UUID) (repo.Credential, error) {
	row, err := r.s.read.GetAPIKeyCredential(ctx, id)
	if err != nil {
		return repo.Credential{}, mapErr(err, "api key")
	}
	k, err := toAPIKey(row.ApiKey)
	return repo.Credential{Key: k, UserStatus: repo.UserStatus(row.UserStatus), PolicyVersion: row.PolicyVersion}, err
}
