package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// BootstrapInput is the input of Bootstrap.
type BootstrapInput struct {
	OrgSlug string
	OrgName string // "" means the slug
	Region  string // "" means repo.DefaultRegion
	Email   string
	Name    string
}

// Bootstrap creates an org with its built-in roles, makes the user (found by
// email or created) its owner, and gives them an API key, in one transaction
// audited as the system. It is how a new deployment gets its first key.
func (s *Service) Bootstrap(ctx context.Context, in BootstrapInput, req Request) (repo.Org, NewKey, error) {
	if in.OrgName == "" {
		in.OrgName = in.OrgSlug
	}
	newOrg := repo.NewOrg{Slug: in.OrgSlug, Name: in.OrgName, Region: in.Region}
	if err := repo.ValidateNewOrg(&newOrg); err != nil {
		return repo.Org{}, NewKey{}, err
	}
	if err := repo.ValidateNewUser(repo.NewUser{Email: in.Email, Name: in.Name}); err != nil {
		return repo.Org{}, NewKey{}, err
	}
	var (
		org     repo.Org
		key     NewKey
		version int64
	)
	err := s.store.InTx(ctx, func(tx repo.Store) error {
		var err error
		if org, err = tx.Orgs().Create(ctx, newOrg); err != nil {
			return err
		}
		if err := rbac.SeedBuiltinRoles(ctx, tx, org.ID); err != nil {
			return err
		}
		system := Principal{Request: req}
		a := action{name: "org.bootstrap", policy: true, targetType: "org", targetID: org.ID.String()}
		version, err = s.apply(ctx, tx, system, org, a, func(tx repo.Store, org repo.Org) (change, error) {
			m, err := addMember(ctx, tx, org.ID, uuid.Nil, NewMember{Email: in.Email, Name: in.Name, Role: rbac.Owner})
			if err != nil {
				return change{}, err
			}
			key, err = createKey(ctx, tx, org.ID, m.User.ID, NewAPIKey{Name: "bootstrap"})
			return change{after: map[string]any{
				"slug": org.Slug, "owner": m.User.Email, "api_key_id": key.ID,
			}}, err
		})
		return err
	})
	if err == nil {
		s.authz.Invalidate(org.ID, version)
	}
	return org, key, err
}
