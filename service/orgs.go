package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// GetOrg returns the caller's org (org.read), read afresh: the org the
// request resolved may come from the service's cache.
func (s *Service) GetOrg(ctx context.Context, p Principal, slug string) (repo.Org, error) {
	org, err := s.read(ctx, p, slug, action{name: "org.read", perm: rbac.OrgRead})
	if err != nil {
		return repo.Org{}, err
	}
	return s.store.Orgs().Get(ctx, org.ID)
}

// UpdateOrg changes the org's name or region (org.update). It is a policy
// action, so that every instance's cache of orgs by slug sees the change
// (see cache.go).
func (s *Service) UpdateOrg(ctx context.Context, p Principal, slug string, in repo.OrgUpdate) (repo.Org, error) {
	if err := repo.ValidateOrgUpdate(in); err != nil {
		return repo.Org{}, err
	}
	defer s.forget(uuid.Nil, slug)
	var out repo.Org
	err := s.mutate(ctx, p, slug, action{name: "org.update", policy: true, perm: rbac.OrgUpdate, targetType: "org"}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			org, err := tx.Orgs().Get(ctx, org.ID) // as the transaction sees it, the row locked by the bump
			if err != nil {
				return change{}, err
			}
			updated, err := tx.Orgs().Update(ctx, org.ID, in)
			out = updated
			return change{
				targetID: org.ID.String(),
				before:   map[string]any{"name": org.Name, "region": org.Region},
				after:    map[string]any{"name": updated.Name, "region": updated.Region},
			}, err
		})
	return out, err
}
