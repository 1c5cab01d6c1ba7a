package rbac

import (
	"strings"

	"github.com/strata-go/strata/repo"
)

// The permissions a role can hold, as "resource.verb" strings. A role may also
// hold a wildcard: "*" (everything) or "resource.*" (every verb of a known
// resource, e.g. "projects.*").
const (
	OrgRead       = "org.read"       // see the org's settings
	OrgUpdate     = "org.update"     // rename the org, change its region
	OrgDelete     = "org.delete"     // delete the org
	MembersRead   = "members.read"   // list members; ask access checks about them
	MembersManage = "members.manage" // add and remove members
	RolesRead     = "roles.read"     // list roles, their permissions and role bindings
	RolesManage   = "roles.manage"   // create, edit and delete custom roles; bind and unbind roles
	// Projects' permissions are declared in projects.go.
	APIKeysManage = "apikeys.manage" // create, list and revoke API keys
	AuditRead     = "audit.read"     // read, verify and export the audit trail
)

// Wildcard is the permission that matches every permission.
const Wildcard = "*"

// known lists every permission in a fixed order: a permission's index in it is
// its slot in a compiled grant set.
var known = [...]string{
	OrgRead, OrgUpdate, OrgDelete,
	MembersRead, MembersManage,
	RolesRead, RolesManage,
	ProjectsRead, ProjectsCreate, ProjectsUpdate, ProjectsDelete,
	APIKeysManage,
	AuditRead,
}

// numPerms is the number of known permissions.
const numPerms = len(known)

// projectScoped marks, by index, the permissions a project binding can grant.
var projectScoped [numPerms]bool

// index maps a known permission to its index in known.
var index = make(map[string]int, numPerms)

// expansion maps every valid grant string (a known permission, a resource
// wildcard, "*") to the indexes of the permissions it covers.
var expansion = make(map[string][]int, 2*numPerms)

func init() {
	for _, p := range projectScopedPermissions {
		projectScoped[indexOf(p)] = true
	}
	for i, p := range known {
		index[p] = i
		expansion[p] = []int{i}
		expansion[Wildcard] = append(expansion[Wildcard], i)
		res := p[:strings.IndexByte(p, '.')] + ".*"
		expansion[res] = append(expansion[res], i)
	}
}

func indexOf(perm string) int {
	for i, p := range known {
		if p == perm {
			return i
		}
	}
	panic("rbac: unknown permission " + perm)
}

// All returns every known permission, in a fixed order (a new slice each call).
func All() []string { return append([]string(nil), known[:]...) }

// Known reports whether perm is a known permission (not a wildcard).
func Known(perm string) bool {
	_, ok := index[perm]
	return ok
}

// ProjectScoped reports whether perm applies to one project: projects.read,
// projects.update and projects.delete. A binding on a project grants only
// these, and only on that project; everything else needs an org-wide binding.
func ProjectScoped(perm string) bool {
	i, ok := index[perm]
	return ok && projectScoped[i]
}

// Expand returns the known permissions grant covers: itself for a known
// permission, every verb of the resource for "resource.*", everything for "*",
// and nothing for a string that is not a valid grant.
func Expand(grant string) []string {
	idx := expansion[grant]
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = known[j]
	}
	return out
}

// ValidatePermissions checks a role's permissions: each must be a known
// permission, "*", or "resource.*" for a known resource. Any other string,
// including a wildcard over an unknown resource, is an ErrInvalid error naming
// the field "permissions".
func ValidatePermissions(perms []string) error {
	if err := repo.ValidatePermissionForm(perms); err != nil {
		return err
	}
	for _, p := range perms {
		if _, ok := expansion[p]; !ok {
			return repo.Invalid("permissions", "%q is not a known permission", p)
		}
	}
	return nil
}

// Matches reports whether grant covers perm: they are equal, grant is "*", or
// grant is "resource.*" and perm is a permission (or the wildcard) of the same
// resource. It only compares strings; whether either is known is
// ValidatePermissions' business.
func Matches(grant, perm string) bool {
	if grant == perm || grant == Wildcard {
		return true
	}
	res, ok := strings.CutSuffix(grant, "*")
	return ok && strings.HasSuffix(res, ".") && len(perm) > len(res) &&
		strings.HasPrefix(perm, res) && !strings.Contains(perm[len(res):], ".")
}

// isWildcard reports whether grant is "*" or ends in ".*".
func isWildcard(grant string) bool { return strings.HasSuffix(grant, "*") }
