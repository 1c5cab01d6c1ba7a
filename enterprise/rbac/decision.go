package rbac

import (
	"context"
	"strconv"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// Decision is the answer to a check, with the reason for it: for an allowed
// check, the binding and role that allowed it (the "explain" answer); for a
// denied one, zero IDs and why nothing allowed it.
type Decision struct {
	Allowed   bool
	Reason    string    // human-readable, safe to show to the org's admins
	BindingID uuid.UUID // the binding that allowed the check
	RoleID    uuid.UUID // its role
	RoleName  string    // the role's name
}

// Reasons a check is denied.
const (
	reasonSuspended  = "the user is suspended"
	reasonNoBindings = "the user has no role bindings in the org"
	reasonNoOrgGrant = "no org-wide binding of the user grants the permission"
	reasonNoGrant    = "no binding of the user grants the permission on this project or org-wide"
)

// GrantSource reads a user's grants in an org; repo.RoleBindings is one.
type GrantSource interface {
	// Grants returns every binding of the user in the org with its role's
	// permissions and the user's status, in one query.
	Grants(ctx context.Context, orgID, userID uuid.UUID) ([]repo.Grant, error)
}

// Decide answers one check from the user's grants as src reads them now,
// without a cache: one Grants query. Pass a transaction's RoleBindings to
// decide from what the transaction sees. Rules are those of Authorizer.Check.
func Decide(ctx context.Context, src GrantSource, orgID, userID uuid.UUID, perm string, projectID *uuid.UUID) (Decision, error) {
	return decide(perm, projectID, func() (*grantSet, error) { return load(ctx, src, orgID, userID) })
}

// load reads the user's grants from src, one query, and compiles them.
func load(ctx context.Context, src GrantSource, orgID, userID uuid.UUID) (*grantSet, error) {
	grants, err := src.Grants(ctx, orgID, userID)
	if err != nil {
		return nil, err
	}
	return compile(grants), nil
}

// decide answers a check of perm on projectID from the grant set get
// returns; an unknown perm is refused before get runs.
func decide(perm string, projectID *uuid.UUID, get func() (*grantSet, error)) (Decision, error) {
	i, err := permIndex(perm)
	if err != nil {
		return Decision{}, err
	}
	set, err := get()
	if err != nil {
		return Decision{}, err
	}
	return set.decide(i, projectID), nil
}

// permIndex returns perm's slot, or an ErrInvalid error for anything that is
// not a known permission: a check asks about one concrete permission.
func permIndex(perm string) (int, error) {
	i, ok := index[perm]
	if !ok {
		return 0, repo.Invalid("permission", "%q is not a known permission", perm)
	}
	return i, nil
}

// grantSet is one user's grants in one org, compiled for constant-time
// checks: per scope, an array indexed by permission that names the binding
// granting it. Its size and its check time depend on the user's bindings
// only, never on the org's. It is immutable once built.
type grantSet struct {
	suspended bool
	empty     bool
	org       scopeGrants                // org-wide bindings
	projects  map[uuid.UUID]*scopeGrants // project bindings, project-scoped permissions only
}

// scopeGrants is what the bindings of one scope grant.
type scopeGrants struct {
	perms     [numPerms]*source // the first binding (in ID order) granting each permission
	wildcards []string          // the wildcard grants held, for CanGrant
}

// source is one binding, as a Decision names it.
type source struct {
	bindingID, roleID uuid.UUID
	roleName          string
	reason            string
}

// compile builds a user's grantSet. Grants arrive in binding ID order; the
// first binding granting a permission is the one a Decision names. Permissions
// the code does not know (written by a newer version, say) grant nothing.
func compile(grants []repo.Grant) *grantSet {
	s := &grantSet{empty: len(grants) == 0}
	for _, g := range grants {
		if g.UserStatus != repo.UserActive {
			s.suspended = true
		}
		src := &source{bindingID: g.BindingID, roleID: g.RoleID, roleName: g.RoleName}
		sc := &s.org
		if g.ProjectID != nil {
			src.reason = "granted by role " + strconv.Quote(g.RoleName) + " bound on project " + g.ProjectID.String()
			if s.projects == nil {
				s.projects = make(map[uuid.UUID]*scopeGrants)
			}
			if sc = s.projects[*g.ProjectID]; sc == nil {
				sc = new(scopeGrants)
				s.projects[*g.ProjectID] = sc
			}
		} else {
			src.reason = "granted by role " + strconv.Quote(g.RoleName) + " bound org-wide"
		}
		for _, p := range grantedBy(g) {
			if isWildcard(p) {
				sc.wildcards = append(sc.wildcards, p)
			}
			for _, i := range expansion[p] {
				if sc.perms[i] == nil && (g.ProjectID == nil || projectScoped[i]) {
					sc.perms[i] = src
				}
			}
		}
	}
	return s
}

// decide answers a check of permission slot i on projectID (nil: a resource
// outside any project, which only org-wide bindings cover). It allocates nothing.
func (s *grantSet) decide(i int, projectID *uuid.UUID) Decision {
	switch {
	case s.suspended:
		return Decision{Reason: reasonSuspended}
	case s.empty:
		return Decision{Reason: reasonNoBindings}
	}
	if src := s.lookup(i, projectID); src != nil {
		return Decision{Allowed: true, Reason: src.reason, BindingID: src.bindingID, RoleID: src.roleID, RoleName: src.roleName}
	}
	if projectID == nil {
		return Decision{Reason: reasonNoOrgGrant}
	}
	return Decision{Reason: reasonNoGrant}
}

// lookup returns the binding granting slot i on projectID, org-wide bindings
// first, or nil. It ignores the user's status.
func (s *grantSet) lookup(i int, projectID *uuid.UUID) *source {
	if src := s.org.perms[i]; src != nil {
		return src
	}
	if projectID != nil {
		if sc := s.projects[*projectID]; sc != nil {
			return sc.perms[i]
		}
	}
	return nil
}

// holdsWildcard reports whether a binding applying on projectID (org-wide, or
// on that project) holds a wildcard covering w.
func (s *grantSet) holdsWildcard(w string, projectID *uuid.UUID) bool {
	scopes := []*scopeGrants{&s.org}
	if projectID != nil && s.projects[*projectID] != nil {
		scopes = append(scopes, s.projects[*projectID])
	}
	for _, sc := range scopes {
		for _, g := range sc.wildcards {
			if Matches(g, w) {
				return true
			}
		}
	}
	return false
}
