package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/role_bindings.go -destination ../mocks/repo_role_bindings.go -package mocks"

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// RoleBinding grants a role to a member of the org, on the whole org
// (ProjectID nil) or on one project.
type RoleBinding struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	UserID    uuid.UUID
	RoleID    uuid.UUID
	ProjectID *uuid.UUID
	CreatedAt time.Time
}

// NewRoleBinding is the input of RoleBindings.Create.
type NewRoleBinding struct {
	UserID    uuid.UUID
	RoleID    uuid.UUID
	ProjectID *uuid.UUID
}

// Grant is one binding of a user with its role's permissions: what an
// authorization check needs, read in one query.
type Grant struct {
	BindingID   uuid.UUID
	ProjectID   *uuid.UUID
	RoleID      uuid.UUID
	RoleName    string
	Permissions []string
	UserStatus  UserStatus
}

// RoleBindings stores grants of roles to members.
type RoleBindings interface {
	// Create binds a role to a member; an unknown member, role or project of
	// the org is ErrNotFound, the same grant twice ErrConflict.
	Create(ctx context.Context, orgID uuid.UUID, in NewRoleBinding) (RoleBinding, error)
	Get(ctx context.Context, orgID, id uuid.UUID) (RoleBinding, error)
	List(ctx context.Context, orgID uuid.UUID, page PageRequest) (Page[RoleBinding], error)
	Delete(ctx context.Context, orgID, id uuid.UUID) error
	// CountOrgWide counts the org-wide bindings of a role (e.g. owners).
	CountOrgWide(ctx context.Context, orgID, roleID uuid.UUID) (int64, error)
	// Grants returns every binding of the user in the org with its role's
	// permissions, in one query.
	Grants(ctx context.Context, orgID, userID uuid.UUID) ([]Grant, error)
}
