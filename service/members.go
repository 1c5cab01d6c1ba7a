package service

import (
	"context"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// NewMember is the input of AddMember.
type NewMember struct {
	Email string
	Name  string
	Role  string // the role bound org-wide; "" means "member"
}

// ListMembers lists the org's members (members.read).
func (s *Service) ListMembers(ctx context.Context, p Principal, slug string, page repo.PageRequest) (repo.Page[repo.Member], error) {
	org, err := s.read(ctx, p, slug, action{name: "member.list", perm: rbac.MembersRead})
	if err != nil {
		return repo.Page[repo.Member]{}, err
	}
	return s.store.Memberships().List(ctx, org.ID, page)
}

// AddMember adds a user, found by email or created, to the org with a role
// bound org-wide (members.manage, and the caller must hold what the role
// grants).
func (s *Service) AddMember(ctx context.Context, p Principal, slug string, in NewMember) (repo.Member, error) {
	if in.Role == "" {
		in.Role = rbac.Member
	}
	if err := repo.ValidateNewUser(repo.NewUser{Email: in.Email, Name: in.Name}); err != nil {
		return repo.Member{}, err
	}
	var out repo.Member
	err := s.mutate(ctx, p, slug, action{name: "member.add", policy: true, perm: rbac.MembersManage, targetType: "user"}, &out,
		func(tx repo.Store, org repo.Org) (change, error) {
			m, err := addMember(ctx, tx, org.ID, p.UserID, in)
			out = m
			return change{targetID: m.User.ID.String(),
				after: map[string]any{"email": m.User.Email, "role": in.Role}}, err
		})
	return out, err
}

// addMember finds or creates the user, makes them a member and binds the
// role org-wide. actor is checked with rbac.CanGrant unless it is uuid.Nil
// (the system, during bootstrap).
func addMember(ctx context.Context, tx repo.Store, orgID, actor uuid.UUID, in NewMember) (repo.Member, error) {
	role, err := tx.Roles().GetByName(ctx, orgID, in.Role)
	if errIs(err, repo.ErrNotFound) {
		return repo.Member{}, repo.Invalid("role", "no role %q in this org", in.Role)
	}
	if err != nil {
		return repo.Member{}, err
	}
	if actor != uuid.Nil {
		if err := rbac.CanGrant(ctx, tx, orgID, actor, role, nil); err != nil {
			return repo.Member{}, err
		}
	}
	user, err := tx.Users().GetByEmail(ctx, in.Email)
	if errIs(err, repo.ErrNotFound) {
		user, err = tx.Users().Create(ctx, repo.NewUser{Email: in.Email, Name: in.Name})
	}
	if err != nil {
		return repo.Member{}, err
	}
	m, err := tx.Memberships().Add(ctx, orgID, user.ID)
	if errIs(err, repo.ErrConflict) {
		return repo.Member{}, repo.Conflict("%s is already a member", in.Email)
	}
	if err != nil {
		return repo.Member{}, err
	}
	_, err = tx.RoleBindings().Create(ctx, orgID, repo.NewRoleBinding{UserID: user.ID, RoleID: role.ID})
	return m, err
}

// RemoveMember removes a member and all their bindings and API keys in the
// org (members.manage; the caller must hold everything the member holds).
// The last owner cannot be removed.
func (s *Service) RemoveMember(ctx context.Context, p Principal, slug string, userID uuid.UUID) error {
	return s.mutate(ctx, p, slug, action{name: "member.remove", policy: true, perm: rbac.MembersManage, targetType: "user", targetID: userID.String()}, nil,
		func(tx repo.Store, org repo.Org) (change, error) {
			m, err := tx.Memberships().Get(ctx, org.ID, userID)
			if err != nil {
				return change{}, err
			}
			if err := mayActOn(ctx, tx, org.ID, p.UserID, userID); err != nil {
				return change{}, err
			}
			if err := rbac.EnsureNotLastOwner(ctx, tx, org.ID, rbac.Removal{UserID: userID}); err != nil {
				return change{}, err
			}
			return change{before: map[string]any{"email": m.User.Email}}, tx.Memberships().Remove(ctx, org.ID, userID)
		})
}
