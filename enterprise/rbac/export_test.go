package rbac

import "github.com/google/uuid"

// CachedUsers returns how many users' grant sets the cache holds for the org.
func CachedUsers(a *Authorizer, orgID uuid.UUID) int {
	st, ok := a.orgs.load(orgID)
	if !ok {
		return 0
	}
	t := st.table.Load()
	if t == nil {
		return 0
	}
	return t.users.len()
}

// CachedOrgs returns how many orgs the cache holds.
func CachedOrgs(a *Authorizer) int { return a.orgs.len() }
