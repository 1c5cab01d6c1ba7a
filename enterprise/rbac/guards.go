package rbac

import (
	"context"
	"errors"
	"strconv"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// BumpVersion increments the org's policy version in tx and returns the new
// version. The service calls it in the transaction of every change to the
// org's roles, bindings or memberships, and after the commit passes the
// version to Authorizer.Invalidate.
//
// Call it first in the transaction, before the guards below: the row lock the
// update takes on the org serializes concurrent policy changes of one org, so
// a guard's reads cannot race another transaction's change (two admins each
// removing one of two owners under READ COMMITTED, say).
func BumpVersion(ctx context.Context, tx repo.Store, orgID uuid.UUID) (int64, error) {
	return tx.Orgs().BumpPolicyVersion(ctx, orgID)
}

// BumpVersionsForUser bumps the policy version of every org the user belongs
// to and returns the new versions, for a change to the user that decisions
// depend on but that is not scoped to an org: suspending or reactivating them.
// After the commit, pass each version to Authorizer.Invalidate.
func BumpVersionsForUser(ctx context.Context, tx repo.Store, userID uuid.UUID) (map[uuid.UUID]int64, error) {
	versions := make(map[uuid.UUID]int64)
	page := repo.PageRequest{Limit: repo.MaxPageSize}
	for {
		orgs, err := tx.Orgs().ListForUser(ctx, userID, page)
		if err != nil {
			return nil, err
		}
		for _, o := range orgs.Items {
			if versions[o.ID], err = BumpVersion(ctx, tx, o.ID); err != nil {
				return nil, err
			}
		}
		if orgs.Next == "" {
			return versions, nil
		}
		page.Cursor = orgs.Next
	}
}

// CanGrant checks that the actor may give role's permissions at a scope: the
// whole org (projectID nil) or one project. The service calls it in the
// transaction of the change, before creating or deleting a binding of role
// (so an admin can neither make nor unmake an owner), and, with projectID nil,
// before creating a role or changing its permissions (pass the role with its
// new permissions). It decides from the grants the transaction sees, not from
// a cache.
//
// No one can give what they do not hold: every permission the role would
// confer at the scope must be allowed to the actor at that scope (by the
// rules of Authorizer.Check; at a project scope only project-scoped
// permissions confer anything, so only those count), and a wildcard ("*" or
// "resource.*") needs an actor whose bindings at the scope hold a wildcard
// covering it, because a wildcard also grants permissions added later: "*"
// is for owners only. A refusal is an ErrForbidden error naming the first
// permission the actor lacks; an unknown permission is ErrInvalid.
//
// CanGrant does not check that the actor may manage roles or members at all;
// the service authorizes that (RolesManage, MembersManage) first.
func CanGrant(ctx context.Context, tx repo.Store, orgID, actorID uuid.UUID, role repo.Role, projectID *uuid.UUID) error {
	role = Resolve(role)
	if err := ValidatePermissions(role.Permissions); err != nil {
		return err
	}
	set, err := load(ctx, tx.RoleBindings(), orgID, actorID)
	if err != nil {
		return err
	}
	where := "org-wide"
	if projectID != nil {
		where = "on project " + projectID.String()
	}
	deny := func(why string) error {
		return repo.Forbidden("cannot grant role %s %s: %s", strconv.Quote(role.Name), where, why)
	}
	switch {
	case set.suspended:
		return deny(reasonSuspended)
	case set.empty:
		return deny(reasonNoBindings)
	}
	for _, p := range role.Permissions {
		if isWildcard(p) {
			if !set.holdsWildcard(p, projectID) {
				return deny("granting " + strconv.Quote(p) + " requires holding a wildcard that covers it")
			}
			continue
		}
		i := index[p]
		if projectID != nil && !projectScoped[i] {
			continue // a project binding confers nothing through it
		}
		if set.lookup(i, projectID) == nil {
			return deny("you do not hold " + strconv.Quote(p) + " there")
		}
	}
	return nil
}

// Removal names what a change takes away: a binding about to be deleted
// (removing or demoting someone), a member about to be removed from the org
// (with all their bindings), or both. Zero IDs name nothing.
type Removal struct {
	BindingID uuid.UUID
	UserID    uuid.UUID
}

// EnsureNotLastOwner returns an ErrConflict error when the removal would leave
// the org without an org-wide binding of the owner role, and nil otherwise.
// The service calls it in the transaction of the change, after BumpVersion,
// before deleting anything. A project binding of the owner role does not make
// an owner of the org.
func EnsureNotLastOwner(ctx context.Context, tx repo.Store, orgID uuid.UUID, r Removal) error {
	owner, err := tx.Roles().GetByName(ctx, orgID, Owner)
	if err != nil {
		return err
	}
	removed := make(map[uuid.UUID]bool) // org-wide owner bindings going away
	if r.BindingID != uuid.Nil {
		b, err := tx.RoleBindings().Get(ctx, orgID, r.BindingID)
		if err != nil {
			return err
		}
		if b.RoleID == owner.ID && b.ProjectID == nil {
			removed[b.ID] = true
		}
	}
	if r.UserID != uuid.Nil {
		grants, err := tx.RoleBindings().Grants(ctx, orgID, r.UserID)
		if err != nil {
			return err
		}
		for _, g := range grants {
			if g.RoleID == owner.ID && g.ProjectID == nil {
				removed[g.BindingID] = true
			}
		}
	}
	if len(removed) == 0 {
		return nil
	}
	n, err := tx.RoleBindings().CountOrgWide(ctx, orgID, owner.ID)
	if err != nil {
		return err
	}
	if n <= int64(len(removed)) {
		return repo.Conflict("the org must keep at least one owner: the last owner cannot be removed or demoted")
	}
	return nil
}

// DeleteRole deletes a custom role in tx. A built-in role, or a role still
// bound to anyone (the database refuses it: the bindings reference the role
// with ON DELETE RESTRICT), is an ErrConflict error, never a silent cascade;
// an unknown role is ErrNotFound. Like any change to roles, it goes with
// BumpVersion in the same transaction.
func DeleteRole(ctx context.Context, tx repo.Store, orgID, roleID uuid.UUID) error {
	role, err := tx.Roles().Get(ctx, orgID, roleID)
	if err != nil {
		return err
	}
	if role.Builtin {
		return repo.BuiltinRoleConflict(role.Name)
	}
	err = tx.Roles().Delete(ctx, orgID, roleID)
	if errors.Is(err, repo.ErrConflict) {
		return &repo.Error{
			Kind:    repo.ErrConflict,
			Message: "role " + strconv.Quote(role.Name) + " is still bound; remove its bindings first",
			Err:     err,
		}
	}
	return err
}
