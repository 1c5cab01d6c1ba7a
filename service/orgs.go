package service

import (
	"context"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// GetOrg returns the caller's org (org.read).
func (s *Service) GetOrg(ctx context.Context, p Principal, slug string) (repo.Org, error) {
	return s.read(ctx, p, slug, action{name: "org.read", perm: rbac.OrgRead})
}

// UpdateOrg changes the org's name or region (org.update).
func (s *Service) UpdateOrg(ctx context.Context, p Principal, slug string, in repo.OrgUpdate) (repo.Org, error) {
	if err := repo.ValidateOrgUpdate(in); err != nil {
		return repo.Org{}, err
	}
	var out repo.Org
	err := s.mutate(ctx, p, slug, action{name: "org.update", perm: rbac.OrgUpdate, targetType: "org"},
		func(tx repo.Store, org repo.Org) (change, error) {
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
