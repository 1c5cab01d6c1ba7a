package repotest

import (
	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

func membershipCases() []testCase {
	return []testCase{
		{"Memberships/Add", func(e *env) {
			org, u := e.newOrg(), e.newUser()
			c := clock()
			m := must(e.db.Memberships().Add(e.ctx, org.ID, u.ID)).of(e.t)
			c.check(e.t, "JoinedAt", m.JoinedAt)
			same(e.t, "Add", m, repo.Member{OrgID: org.ID, User: u, JoinedAt: m.JoinedAt})
			same(e.t, "Get", must(e.db.Memberships().Get(e.ctx, org.ID, u.ID)).of(e.t), m)
			same(e.t, "List", e.members(org.ID), []repo.Member{m})
		}},
		{"Memberships/AddDuplicate", func(e *env) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			before := e.members(org.ID)
			_, err := e.db.Memberships().Add(e.ctx, org.ID, u.ID)
			wantConflict(e.t, err, "user_id")
			same(e.t, "List", e.members(org.ID), before)
		}},
		{"Memberships/AddUnknownUser", func(e *env) {
			org := e.newOrg()
			notFound(e.t, second(e.db.Memberships().Add(e.ctx, org.ID, repo.NewID())))
			same(e.t, "List", e.members(org.ID), []repo.Member{})
		}},
		{"Memberships/AddUnknownOrg", func(e *env) {
			u := e.newUser()
			notFound(e.t, second(e.db.Memberships().Add(e.ctx, repo.NewID(), u.ID)))
			same(e.t, "ListForUser", e.orgsOf(u.ID), []repo.Org{})
		}},
		{"Memberships/GetNonMember", func(e *env) {
			org := e.newOrg()
			e.newMember(org.ID)
			notFound(e.t, second(e.db.Memberships().Get(e.ctx, org.ID, e.newUser().ID)),
				second(e.db.Memberships().Get(e.ctx, org.ID, repo.NewID())))
		}},
		{"Memberships/ListShowsUsers", func(e *env) {
			org := e.newOrg()
			var want []repo.Member
			for range 3 {
				u := e.newUser()
				want = append(want, must(e.db.Memberships().Add(e.ctx, org.ID, u.ID)).of(e.t))
			}
			e.newMember(e.newOrg().ID) // in another org
			same(e.t, "List", e.members(org.ID), want)
			// A change to the user shows through the membership.
			u := must(e.db.Users().Update(e.ctx, want[1].User.ID, repo.UserUpdate{Name: ptr("New Name"), Status: ptr(repo.UserSuspended)})).of(e.t)
			want[1].User = u
			same(e.t, "Get after user update", must(e.db.Memberships().Get(e.ctx, org.ID, u.ID)).of(e.t), want[1])
			same(e.t, "List after user update", e.members(org.ID), want)
		}},
		{"Memberships/Remove", func(e *env) {
			org := e.newOrg()
			u, stays := e.newMember(org.ID), e.newMember(org.ID)
			keep := must(e.db.Memberships().Get(e.ctx, org.ID, stays.ID)).of(e.t)
			ok(e.t, e.db.Memberships().Remove(e.ctx, org.ID, u.ID))
			notFound(e.t, second(e.db.Memberships().Get(e.ctx, org.ID, u.ID)),
				e.db.Memberships().Remove(e.ctx, org.ID, u.ID))
			same(e.t, "List", e.members(org.ID), []repo.Member{keep})
			same(e.t, "user", must(e.db.Users().Get(e.ctx, u.ID)).of(e.t), u)
			// The user may join again.
			must(e.db.Memberships().Add(e.ctx, org.ID, u.ID)).of(e.t)
		}},
		{"Memberships/RemoveUnknown", func(e *env) {
			org := e.newOrg()
			e.newMember(org.ID)
			before := e.members(org.ID)
			notFound(e.t, e.db.Memberships().Remove(e.ctx, org.ID, e.newUser().ID),
				e.db.Memberships().Remove(e.ctx, repo.NewID(), before[0].User.ID))
			same(e.t, "List", e.members(org.ID), before)
		}},
		{"Memberships/RemoveCascades", func(e *env) {
			w := e.world()
			b := e.tenantSnapshot(w.B)
			a := w.A
			extra := e.bind(a.Org.ID, a.Member.ID, a.OnlyRole.ID, nil)
			ok(e.t, e.db.Memberships().Remove(e.ctx, a.Org.ID, a.Member.ID))
			for _, id := range []uuid.UUID{a.ProjectBinding.ID, extra.ID} {
				notFound(e.t, second(e.db.RoleBindings().Get(e.ctx, a.Org.ID, id)))
			}
			if g := must(e.db.RoleBindings().Grants(e.ctx, a.Org.ID, a.Member.ID)).of(e.t); len(g) != 0 {
				e.t.Errorf("Grants of a removed member = %v, want none", g)
			}
			notFound(e.t, second(e.db.APIKeys().Lookup(e.ctx, a.MemberKey.ID)))
			ts := e.tenantSnapshot(a)
			same(e.t, "bindings left", ts.Bindings, []repo.RoleBinding{a.OrgBinding})
			same(e.t, "keys left", ts.Keys, []repo.APIKey{a.OwnerKey})
			same(e.t, "owner key", must(e.db.APIKeys().Lookup(e.ctx, a.OwnerKey.ID)).of(e.t), a.OwnerKey)
			same(e.t, "B", e.tenantSnapshot(w.B), b)
		}},
	}
}
