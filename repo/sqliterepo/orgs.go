package sqliterepo

import (
	"context"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// orgs implements repo.Orgs.
type orgs struct{ s *store }

func (r orgs) Create(ctx context.Context, in repo.NewOrg) (repo.Org, error) {
	if err := repo.ValidateNewOrg(&in); err != nil {
		return repo.Org{}, err
	}
	now := formatTime(repo.Now())
	row, err := r.s.write.CreateOrg(ctx, sqlitedb.CreateOrgParams{
		ID: repo.NewID(), Slug: in.Slug, Name: in.Name, Region: in.Region, CreatedAt: now, UpdatedAt: now,
	})
	return one(row, err, "org", toOrg)
}

func (r orgs) Get(ctx context.Context, id uuid.UUID) (repo.Org, error) {
	row, err := r.s.read.GetOrg(ctx, id)
	return one(row, err, "org", toOrg)
}

func (r orgs) GetBySlug(ctx context.Context, slug string) (repo.Org, error) {
	row, err := r.s.read.GetOrgBySlug(ctx, slug)
	return one(row, err, "org", toOrg)
}

func (r orgs) List(ctx context.Context, page repo.PageRequest) (repo.Page[repo.Org], error) {
	return listByID("orgs", page, func(after uuid.UUID, limit int64) ([]sqlitedb.Org, error) {
		return r.s.read.ListOrgs(ctx, sqlitedb.ListOrgsParams{After: after, Lim: limit})
	}, toOrg, orgID)
}

func (r orgs) ListForUser(ctx context.Context, userID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Org], error) {
	return listByID("orgs_for_user", page, func(after uuid.UUID, limit int64) ([]sqlitedb.Org, error) {
		return r.s.read.ListOrgsForUser(ctx, sqlitedb.ListOrgsForUserParams{UserID: userID, After: after, Lim: limit})
	}, toOrg, orgID)
}

func orgID(o repo.Org) uuid.UUID { return o.ID }

func (r orgs) Update(ctx context.Context, id uuid.UUID, in repo.OrgUpdate) (repo.Org, error) {
	if err := repo.ValidateOrgUpdate(in); err != nil {
		return repo.Org{}, err
	}
	row, err := r.s.write.UpdateOrg(ctx, sqlitedb.UpdateOrgParams{
		Name: in.Name, Region: in.Region, UpdatedAt: formatTime(repo.Now()), ID: id,
	})
	return one(row, err, "org", toOrg)
}

func (r orgs) Delete(ctx context.Context, id uuid.UUID) error {
	now := formatTime(repo.Now())
	n, err := r.s.write.DeleteOrg(ctx, sqlitedb.DeleteOrgParams{DeletedAt: &now, UpdatedAt: now, ID: id})
	return deleted(n, err, "org")
}

func (r orgs) BumpPolicyVersion(ctx context.Context, id uuid.UUID) (int64, error) {
	v, err := r.s.write.BumpPolicyVersion(ctx, id)
	return v, mapErr(err, "org")
}

func (r orgs) PolicyVersion(ctx context.Context, id uuid.UUID) (int64, error) {
	v, err := r.s.read.GetPolicyVersion(ctx, id)
	return v, mapErr(err, "org")
}
