package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/roles.go -destination ../mocks/repo_roles.go -package mocks"

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Role is a named set of permissions in one org. Built-in roles exist in every
// org and cannot be changed or deleted.
type Role struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	Name        string
	Builtin     bool
	Permissions []string // e.g. "projects.update", "projects.*", "*"
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NewRole is the input of Roles.Create.
type NewRole struct {
	Name        string
	Builtin     bool
	Permissions []string
}

// ValidateRoleName checks a role name: 1 to 63 of [a-z0-9_-], starting with a
// letter or digit.
func ValidateRoleName(name string) error {
	if name == "" {
		return Invalid("name", "must not be empty")
	}
	if len(name) > MaxRoleNameLen {
		return Invalid("name", "must be at most %d characters", MaxRoleNameLen)
	}
	for i, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '-')
		if !ok {
			return Invalid("name", "may hold only lower-case letters, digits, '_' and '-', starting with a letter or digit")
		}
	}
	return nil
}

// ValidatePermissionForm checks the form of permission strings: "*", or
// dot-separated segments of [a-z_] where the last may be "*". Whether a
// permission is known is the authorization layer's business.
func ValidatePermissionForm(perms []string) error {
	if len(perms) > MaxPermissions {
		return Invalid("permissions", "at most %d permissions", MaxPermissions)
	}
	for _, p := range perms {
		if p == "*" {
			continue
		}
		if p == "" || len(p) > MaxPermissionLen {
			return Invalid("permissions", "%q is not a permission", p)
		}
		segs := strings.Split(p, ".")
		for i, seg := range segs {
			if seg == "*" && i == len(segs)-1 && i > 0 {
				continue
			}
			if seg == "" || strings.Trim(seg, "abcdefghijklmnopqrstuvwxyz_") != "" {
				return Invalid("permissions", "%q is not a permission", p)
			}
		}
	}
	return nil
}

// ValidateNewRole checks the input of Roles.Create.
func ValidateNewRole(in NewRole) error {
	return firstErr(ValidateRoleName(in.Name), ValidatePermissionForm(in.Permissions))
}

// Roles stores each org's roles.
type Roles interface {
	Create(ctx context.Context, orgID uuid.UUID, in NewRole) (Role, error)
	Get(ctx context.Context, orgID, id uuid.UUID) (Role, error)
	GetByName(ctx context.Context, orgID uuid.UUID, name string) (Role, error)
	List(ctx context.Context, orgID uuid.UUID, page PageRequest) (Page[Role], error)
	// UpdatePermissions replaces a custom role's permissions; built-in roles are
	// a conflict.
	UpdatePermissions(ctx context.Context, orgID, id uuid.UUID, permissions []string) (Role, error)
	// Delete removes a custom role; a built-in role or one still bound is a conflict.
	Delete(ctx context.Context, orgID, id uuid.UUID) error
}
