package rbac

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// The names of the built-in roles every org has. They cannot be changed or
// deleted, and no custom role can take their names (role names are unique in
// an org).
const (
	Owner  = "owner"  // everything ("*"), including deleting the org
	Admin  = "admin"  // everything but org.delete
	Member = "member" // read the org, its members and roles; read, create and update projects
	Viewer = "viewer" // every ".read" permission except audit.read
)

// BuiltinRoles returns the definitions of the built-in roles, owner, admin,
// member and viewer in that order, as SeedBuiltinRoles creates them. Each call
// returns fresh slices.
func BuiltinRoles() []repo.NewRole {
	var admin []string
	for _, p := range known {
		if p != OrgDelete {
			admin = append(admin, p)
		}
	}
	return []repo.NewRole{
		{Name: Owner, Builtin: true, Permissions: []string{Wildcard}},
		{Name: Admin, Builtin: true, Permissions: admin},
		{Name: Member, Builtin: true, Permissions: []string{
			OrgRead, MembersRead, RolesRead, ProjectsRead, ProjectsCreate, ProjectsUpdate,
		}},
		{Name: Viewer, Builtin: true, Permissions: []string{OrgRead, MembersRead, RolesRead, ProjectsRead}},
	}
}

// builtinGrants are the built-in roles' permissions, by name.
var builtinGrants = func() map[string][]string {
	m := map[string][]string{}
	for _, r := range BuiltinRoles() {
		m[r.Name] = r.Permissions
	}
	return m
}()

// Resolve returns role with the permissions it grants: a built-in role's
// are the code's (BuiltinRoles), whatever its stored row says, so that a
// permission a new version adds to a built-in role reaches every org at
// once, including those created before it. Custom roles are returned as
// they are. Every reader of a role's grants goes through it (compile,
// CanGrant, the service's answers).
func Resolve(role repo.Role) repo.Role {
	if !role.Builtin {
		return role
	}
	if perms, ok := builtinGrants[role.Name]; ok {
		role.Permissions = slices.Clone(perms)
	}
	return role
}

// grantedBy returns the permissions a binding's role grants: the code's
// for a built-in role (see Resolve; no custom role can take a built-in
// role's name, as every org has them and names are unique in an org), the
// stored ones otherwise.
func grantedBy(g repo.Grant) []string {
	if perms, ok := builtinGrants[g.RoleName]; ok {
		return perms
	}
	return g.Permissions
}

// SeedBuiltinRoles creates the built-in roles in a new org. The service calls
// it in the transaction that creates the org, before binding the creator to
// the owner role.
func SeedBuiltinRoles(ctx context.Context, tx repo.Store, orgID uuid.UUID) error {
	for _, r := range BuiltinRoles() {
		if _, err := tx.Roles().Create(ctx, orgID, r); err != nil {
			return fmt.Errorf("rbac: seed role %q: %w", r.Name, err)
		}
	}
	return nil
}
