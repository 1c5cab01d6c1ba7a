package pgrepo

import (
	"context"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type orgs struct{ s *Store }

func toOrg(o pgdb.Org) repo.Org {
	return repo.Org{
		ID: o.ID, Slug: o.Slug, Name: o.Name, Region: o.Region, PolicyVersion: o.PolicyVersion,
		CreatedAt: repo.Timestamp(o.CreatedAt), UpdatedAt: repo.Timestamp(o.UpdatedAt),
	}
}

func (r orgs) Create(ctx context.Context, in repo.NewOrg) (repo.Org, error) {
	if err := repo.ValidateNewOrg(&in); err != nil {
		return repo.Org{}, err
	}
	now := repo.Now()
	o, err := r.s.w.CreateOrg(ctx, pgdb.CreateOrgParams{
		ID: repo.NewID(), Slug: in.Slug, Name: in.Name, Region: in.Region, CreatedAt: now, UpdatedAt: now,
	})
	return one(o, err, "org", toOrg)
}

func (r orgs) Get(ctx context.Context, id uuid.UUID) (repo.Org, error) {
	o, err := r.s.r.GetOrg(ctx, id)
	return one(o, err, "org", toOrg)
}

func (r orgs) GetBySlug(ctx context.Context, slug string) (repo.Org, error) {
	o, err := r.s.r.GetOrgBySlug(ctx, slug)
	return one(o, err, "org", toOrg)
}

func (r orgs) List(ctx context.Context, page repo.PageRequest) (repo.Page[repo.Org], error) {
	return listByID(ctx, "orgs", page, func(after uuid.UUID, lim int32) ([]pgdb.Org, error) {
		return r.s.r.ListOrgs(ctx, pgdb.ListOrgsParams{After: after, Lim: lim})
	}, toOrg, func(o repo.Org) uuid.UUID { return o.ID })
}

func (r orgs) ListForUser(ctx context.Context, userID uuid.UUID, page repo.PageRequest) (repo.Page[repo.Org], error) {
	return listByID(ctx, "orgs_for_user", page, func(after uuid.UUID, lim int32) ([]pgdb.Org, error) {
		return r.s.r.ListOrgsForUser(ctx, pgdb.ListOrgsForUserParams{UserID: userID, After: after, Lim: lim})
	}, toOrg, func(o repo.Org) uuid.UUID { return o.ID })
}

func (r orgs) Update(ctx context.Context, id uuid.UUID, in repo.OrgUpdate) (repo.Org, error) {
	if err := repo.ValidateOrgUpdate(in); err != nil {
		return repo.Org{}, err
	}
	o, err := r.s.w.UpdateOrg(ctx, pgdb.UpdateOrgParams{Name: in.Name, Region: in.Region, UpdatedAt: repo.Now(), ID: id})
	return one(o, err, "org", toOrg)
}

func (r orgs) Delete(ctx context.Context, id uuid.UUID) error {
	now := repo.Now()
	n, err := r.s.w.DeleteOrg(ctx, pgdb.DeleteOrgParams{DeletedAt: &now, UpdatedAt: now, ID: id})
	return affected(n, err, "org")
}

func (r orgs) BumpPolicyVersion(ctx context.Context, id uuid.UUID) (int64, error) {
	v, err := r.s.w.BumpPolicyVersion(ctx, id)
	if err != nil {
		return 0, notFoundOr(err, "org")
	}
	return v, nil
}

func (r orgs) PolicyVersion(ctx context.Context, id uuid.UUID) (int64, error) {
	v, err := r.s.r.GetPolicyVersion(ctx, id)
	if err != nil {
		return 0, notFoundOr(err, "org")
	}
	return v, nil
}
