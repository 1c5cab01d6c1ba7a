package repotest

import (
	"slices"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// isolationCases reach for org B's rows through org A's ID: every such
// read, write or reference is ErrNotFound, no list of A shows B's rows, and
// nothing changes in either org.
func isolationCases() []testCase {
	type attempt struct {
		name string
		try  func(e *env, w *world) error
	}
	var cs []testCase
	for _, c := range []attempt{
		{"Projects/Get", func(e *env, w *world) error {
			return second(e.db.Projects().Get(e.ctx, w.A.Org.ID, w.B.Project.ID))
		}},
		{"Projects/Update", func(e *env, w *world) error {
			return second(e.db.Projects().Update(e.ctx, w.A.Org.ID, w.B.Project.ID, repo.ProjectUpdate{Name: ptr("stolen"), Description: ptr("x")}))
		}},
		{"Projects/Delete", func(e *env, w *world) error {
			return e.db.Projects().Delete(e.ctx, w.A.Org.ID, w.B.Project.ID)
		}},
		{"Roles/Get", func(e *env, w *world) error {
			return second(e.db.Roles().Get(e.ctx, w.A.Org.ID, w.B.CustomRole.ID))
		}},
		{"Roles/GetByName", func(e *env, w *world) error {
			return second(e.db.Roles().GetByName(e.ctx, w.A.Org.ID, w.B.OnlyRole.Name))
		}},
		{"Roles/UpdatePermissions", func(e *env, w *world) error {
			return second(e.db.Roles().UpdatePermissions(e.ctx, w.A.Org.ID, w.B.CustomRole.ID, []string{"*"}))
		}},
		{"Roles/UpdatePermissionsBuiltin", func(e *env, w *world) error {
			// Not found, not "built-in": the role is not A's to describe.
			return second(e.db.Roles().UpdatePermissions(e.ctx, w.A.Org.ID, w.B.OwnerRole.ID, []string{"*"}))
		}},
		{"Roles/Delete", func(e *env, w *world) error {
			return e.db.Roles().Delete(e.ctx, w.A.Org.ID, w.B.OnlyRole.ID)
		}},
		{"Roles/DeleteBuiltin", func(e *env, w *world) error {
			return e.db.Roles().Delete(e.ctx, w.A.Org.ID, w.B.OwnerRole.ID)
		}},
		{"RoleBindings/Get", func(e *env, w *world) error {
			return second(e.db.RoleBindings().Get(e.ctx, w.A.Org.ID, w.B.OrgBinding.ID))
		}},
		{"RoleBindings/Delete", func(e *env, w *world) error {
			return e.db.RoleBindings().Delete(e.ctx, w.A.Org.ID, w.B.ProjectBinding.ID)
		}},
		{"RoleBindings/CreateWithOtherOrgsRole", func(e *env, w *world) error {
			return second(e.db.RoleBindings().Create(e.ctx, w.A.Org.ID, repo.NewRoleBinding{UserID: w.A.Member.ID, RoleID: w.B.OnlyRole.ID}))
		}},
		{"RoleBindings/CreateWithOtherOrgsProject", func(e *env, w *world) error {
			return second(e.db.RoleBindings().Create(e.ctx, w.A.Org.ID, repo.NewRoleBinding{UserID: w.A.Member.ID, RoleID: w.A.OnlyRole.ID, ProjectID: ptr(w.B.Project.ID)}))
		}},
		{"RoleBindings/CreateForOtherOrgsMember", func(e *env, w *world) error {
			return second(e.db.RoleBindings().Create(e.ctx, w.A.Org.ID, repo.NewRoleBinding{UserID: w.B.Member.ID, RoleID: w.A.OnlyRole.ID}))
		}},
		{"RoleBindings/CreateInOtherOrgWithOwnRows", func(e *env, w *world) error {
			// All of A's rows, filed under B.
			return second(e.db.RoleBindings().Create(e.ctx, w.B.Org.ID, repo.NewRoleBinding{UserID: w.A.Member.ID, RoleID: w.A.OnlyRole.ID, ProjectID: ptr(w.A.Project.ID)}))
		}},
		{"Memberships/Get", func(e *env, w *world) error {
			return second(e.db.Memberships().Get(e.ctx, w.A.Org.ID, w.B.Member.ID))
		}},
		{"Memberships/Remove", func(e *env, w *world) error {
			return e.db.Memberships().Remove(e.ctx, w.A.Org.ID, w.B.Member.ID)
		}},
		{"APIKeys/Revoke", func(e *env, w *world) error {
			return e.db.APIKeys().Revoke(e.ctx, w.A.Org.ID, w.B.OwnerKey.ID)
		}},
		{"APIKeys/CreateForOtherOrgsMember", func(e *env, w *world) error {
			return second(e.db.APIKeys().Create(e.ctx, w.A.Org.ID, repo.NewAPIKey{UserID: w.B.Owner.ID, Name: "sneaky", SecretHash: secret("x")}))
		}},
	} {
		cs = append(cs, testCase{"Isolation/" + c.name, func(e *env) {
			w := e.world()
			notFound(e.t, e.unchanged(w, func() error { return c.try(e, w) }))
		}})
	}
	return append(cs,
		testCase{"Isolation/Lists", func(e *env) {
			w := e.world()
			a, b := e.tenantSnapshot(w.A), e.tenantSnapshot(w.B)
			// Each list of A holds exactly A's rows.
			same(e.t, "A members", ids(a.Members, func(m repo.Member) uuid.UUID { return m.User.ID }), sorted(w.A.Owner.ID, w.A.Member.ID))
			same(e.t, "A roles", ids(a.Roles, func(r repo.Role) uuid.UUID { return r.ID }), []uuid.UUID{w.A.CustomRole.ID, w.A.OnlyRole.ID, w.A.OwnerRole.ID})
			same(e.t, "A bindings", a.Bindings, []repo.RoleBinding{w.A.OrgBinding, w.A.ProjectBinding})
			same(e.t, "A projects", a.Projects, []repo.Project{w.A.Project})
			same(e.t, "A keys", a.Keys, []repo.APIKey{w.A.OwnerKey, w.A.MemberKey})
			same(e.t, "A events", a.Events, []repo.AuditEvent{w.A.Event})
			same(e.t, "B events", b.Events, []repo.AuditEvent{w.B.Event})
			same(e.t, "B projects", b.Projects, []repo.Project{w.B.Project})
			same(e.t, "ListForUser(A's owner)", e.orgsOf(w.A.Owner.ID), []repo.Org{w.A.Org})
		}},
		testCase{"Isolation/CrossOrgReadsAreEmpty", func(e *env) {
			w := e.world()
			if n := must(e.db.RoleBindings().CountOrgWide(e.ctx, w.A.Org.ID, w.B.OwnerRole.ID)).of(e.t); n != 0 {
				e.t.Errorf("CountOrgWide of B's role in A = %d, want 0", n)
			}
			if g := must(e.db.RoleBindings().Grants(e.ctx, w.A.Org.ID, w.B.Owner.ID)).of(e.t); len(g) != 0 {
				e.t.Errorf("Grants of B's owner in A = %v, want none", g)
			}
			// Lookup finds a key by ID alone and tells its org.
			same(e.t, "Lookup", must(e.db.APIKeys().Lookup(e.ctx, w.B.OwnerKey.ID)).of(e.t), w.B.OwnerKey)
		}},
	)
}

// ids maps rows to their IDs.
func ids[T any](rows []T, id func(T) uuid.UUID) []uuid.UUID {
	out := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

// sorted returns the IDs in list order.
func sorted(ids ...uuid.UUID) []uuid.UUID {
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids
}
