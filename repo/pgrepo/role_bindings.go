package pgrepo

import (
	"context"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type roleBindings struct{ s *Store }

func toRoleBinding(b pgdb.RoleBinding) repo.RoleBinding {
	return repo.RoleBinding{
		ID: b.ID, OrgID: b.OrgID, UserID: b.UserID, RoleID: b.RoleID, ProjectID: b.ProjectID,
		CreatedAt: repo.Timestamp(b.CreatedAt),
	}
}

func (r roleBindings) Create(ctx context.Context, orgID uuid.UUID, in repo.NewRoleBinding) (repo.RoleBinding, error) {
	b, err := r.s.w.CreateRoleBinding(ctx, pgdb.CreateRoleBindingParams{
		ID: repo.NewID(), OrgID: orgID, UserID: in.UserID, RoleID: in.RoleID, ProjectID: in.ProjectID, CreatedAt: repo.Now(),
	})
	return one(b, err, "role binding", toRoleBinding)
}

func (r roleBindings) Get(ctx context.Context, orgID, id uuid.UUID) (repo.RoleBinding, error) {
	b, err := r.s.r.GetRoleBinding(ctx, pgdb.GetRoleBindingParams{OrgID: orgID, ID: id})
	return one(b, err, "role binding", toRoleBinding)
}

func (r roleBindings) List(ctx context.Context, orgID uuid.UUID, page repo.PageRequest) (repo.Page[repo.RoleBinding], error) {
	return listByID(ctx, "role_bindings", page, func(after uuid.UUID, lim int32) ([]pgdb.RoleBinding, error) {
		return r.s.r.ListRoleBindings(ctx, pgdb.ListRoleBindingsParams{OrgID: orgID, After: after, Lim: lim})
	}, toRoleBinding, func(b repo.RoleBinding) uuid.UUID { return b.ID })
}

func (r roleBindings) Delete(ctx context.Context, orgID, id uuid.UUID) error {
	n, err := r.s.w.DeleteRoleBinding(ctx, pgdb.DeleteRoleBindingParams{OrgID: orgID, ID: id})
	return affected(n, err, "role binding")
}

func (r roleBindings) CountOrgWide(ctx context.Context, orgID, roleID uuid.UUID) (int64, error) {
	n, err := r.s.r.CountOrgWideBindings(ctx, pgdb.CountOrgWideBindingsParams{OrgID: orgID, RoleID: roleID})
	return n, mapErr(err, "role bindings")
}

func (r roleBindings) Grants(ctx context.Context, orgID, userID uuid.UUID) ([]repo.Grant, error) {
	rows, err := r.s.r.ListGrants(ctx, pgdb.ListGrantsParams{OrgID: orgID, UserID: userID})
	if err != nil {
		return nil, mapErr(err, "grants")
	}
	return convertAll(rows, func(g pgdb.ListGrantsRow) repo.Grant {
		return repo.Grant{
			BindingID: g.BindingID, ProjectID: g.ProjectID, RoleID: g.RoleID, RoleName: g.RoleName,
			Permissions: nonNil(g.Permissions), UserStatus: repo.UserStatus(g.UserStatus),
		}
	}), nil
}
