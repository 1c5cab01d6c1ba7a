package repotest

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

func storeCases() []testCase {
	return []testCase{
		{"Store/Dialect", func(e *env) {
			if got := e.db.Dialect(); got != e.h.Dialect {
				e.t.Errorf("Dialect() = %q, want %q", got, e.h.Dialect)
			}
		}},
		{"Store/Ping", func(e *env) { ok(e.t, e.db.Ping(e.ctx)) }},
		{"Store/Repositories", func(e *env) {
			check := func(where string, s repo.Store) {
				for name, r := range map[string]any{"Orgs": s.Orgs(), "Users": s.Users(), "Memberships": s.Memberships(),
					"Roles": s.Roles(), "RoleBindings": s.RoleBindings(), "Projects": s.Projects(),
					"APIKeys": s.APIKeys(), "AuditEvents": s.AuditEvents()} {
					if r == nil {
						e.t.Errorf("%s: %s() is nil", where, name)
					}
				}
			}
			check("DB", e.db)
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error { check("tx", tx); return nil }))
		}},
		{"Store/CanceledContext", func(e *env) {
			org := e.newOrg()
			ctx, cancel := context.WithCancel(e.ctx)
			cancel()
			_, err := e.db.Orgs().Get(ctx, org.ID)
			if !errors.Is(err, context.Canceled) {
				e.t.Errorf("Get with a canceled context: %v, want an error that is context.Canceled", err)
			}
			called := false
			err = e.db.InTx(ctx, func(tx repo.Store) error {
				called = true
				_, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "never"})
				return err
			})
			if !errors.Is(err, context.Canceled) {
				e.t.Errorf("InTx with a canceled context: %v (fn called: %v), want an error that is context.Canceled", err, called)
			}
			if ps := must(e.db.Projects().List(e.ctx, org.ID, repo.PageRequest{})).of(e.t); len(ps.Items) != 0 {
				e.t.Errorf("InTx with a canceled context wrote %v", ps.Items)
			}
		}},
	}
}

func orgCases() []testCase {
	return []testCase{
		{"Orgs/Create", func(e *env) {
			c := clock()
			org := must(e.db.Orgs().Create(e.ctx, repo.NewOrg{Slug: "acme-42", Name: "Acme, Inc. — Ünïcode", Region: "eu-west"})).of(e.t)
			if org.ID == uuid.Nil || org.ID.Version() != 7 {
				e.t.Errorf("ID = %v, want a UUIDv7", org.ID)
			}
			c.check(e.t, "CreatedAt", org.CreatedAt)
			c.check(e.t, "UpdatedAt", org.UpdatedAt)
			same(e.t, "Create", org, repo.Org{ID: org.ID, Slug: "acme-42", Name: "Acme, Inc. — Ünïcode", Region: "eu-west",
				PolicyVersion: 1, CreatedAt: org.CreatedAt, UpdatedAt: org.UpdatedAt})
			same(e.t, "Get", must(e.db.Orgs().Get(e.ctx, org.ID)).of(e.t), org)
			same(e.t, "GetBySlug", must(e.db.Orgs().GetBySlug(e.ctx, "acme-42")).of(e.t), org)
			same(e.t, "List", e.orgs(), []repo.Org{org})
			if v := must(e.db.Orgs().PolicyVersion(e.ctx, org.ID)).of(e.t); v != 1 {
				e.t.Errorf("PolicyVersion = %d, want 1", v)
			}
		}},
		{"Orgs/CreateDefaultRegion", func(e *env) {
			org := must(e.db.Orgs().Create(e.ctx, repo.NewOrg{Slug: "acme", Name: "Acme"})).of(e.t)
			if org.Region != repo.DefaultRegion {
				e.t.Errorf("Region = %q, want %q", org.Region, repo.DefaultRegion)
			}
			same(e.t, "Get", must(e.db.Orgs().Get(e.ctx, org.ID)).of(e.t), org)
		}},
		{"Orgs/CreateDuplicateSlug", func(e *env) {
			org := must(e.db.Orgs().Create(e.ctx, repo.NewOrg{Slug: "acme", Name: "Acme"})).of(e.t)
			_, err := e.db.Orgs().Create(e.ctx, repo.NewOrg{Slug: "acme", Name: "Other"})
			wantConflict(e.t, err, "slug")
			same(e.t, "List", e.orgs(), []repo.Org{org})
		}},
		{"Orgs/GetUnknown", func(e *env) {
			e.newOrg()
			notFound(e.t, second(e.db.Orgs().Get(e.ctx, repo.NewID())),
				second(e.db.Orgs().Get(e.ctx, uuid.Nil)))
			notFound(e.t, second(e.db.Orgs().GetBySlug(e.ctx, "no-such-org")),
				second(e.db.Orgs().PolicyVersion(e.ctx, repo.NewID())))
		}},
		{"Orgs/Update", func(e *env) {
			org := e.newOrg()
			c := clock()
			got := must(e.db.Orgs().Update(e.ctx, org.ID, repo.OrgUpdate{Name: ptr("Renamed")})).of(e.t)
			c.check(e.t, "UpdatedAt", got.UpdatedAt)
			want := org
			want.Name, want.UpdatedAt = "Renamed", got.UpdatedAt
			same(e.t, "Update name", got, want)
			got = must(e.db.Orgs().Update(e.ctx, org.ID, repo.OrgUpdate{Region: ptr("us-east")})).of(e.t)
			want.Region, want.UpdatedAt = "us-east", got.UpdatedAt
			same(e.t, "Update region", got, want)
			got = must(e.db.Orgs().Update(e.ctx, org.ID, repo.OrgUpdate{Name: ptr("Both"), Region: ptr("ap-south")})).of(e.t)
			want.Name, want.Region, want.UpdatedAt = "Both", "ap-south", got.UpdatedAt
			same(e.t, "Update both", got, want)
			got = must(e.db.Orgs().Update(e.ctx, org.ID, repo.OrgUpdate{})).of(e.t)
			want.UpdatedAt = got.UpdatedAt
			same(e.t, "Update nothing", got, want)
			same(e.t, "Get", must(e.db.Orgs().Get(e.ctx, org.ID)).of(e.t), got)
		}},
		{"Orgs/UpdateUnknown", func(e *env) {
			org := e.newOrg()
			notFound(e.t, second(e.db.Orgs().Update(e.ctx, repo.NewID(), repo.OrgUpdate{Name: ptr("x")})))
			same(e.t, "List", e.orgs(), []repo.Org{org})
		}},
		{"Orgs/DeleteIsSoftAndHides", func(e *env) {
			w := e.world()
			b := e.tenantSnapshot(w.B)
			ok(e.t, e.db.Orgs().Delete(e.ctx, w.A.Org.ID))
			for name, err := range map[string]error{
				"Get":               second(e.db.Orgs().Get(e.ctx, w.A.Org.ID)),
				"GetBySlug":         second(e.db.Orgs().GetBySlug(e.ctx, w.A.Org.Slug)),
				"Update":            second(e.db.Orgs().Update(e.ctx, w.A.Org.ID, repo.OrgUpdate{Name: ptr("x")})),
				"Delete":            e.db.Orgs().Delete(e.ctx, w.A.Org.ID),
				"BumpPolicyVersion": second(e.db.Orgs().BumpPolicyVersion(e.ctx, w.A.Org.ID)),
				"PolicyVersion":     second(e.db.Orgs().PolicyVersion(e.ctx, w.A.Org.ID)),
			} {
				if !errors.Is(err, repo.ErrNotFound) {
					e.t.Errorf("%s of a deleted org: %v, want ErrNotFound", name, err)
				}
			}
			same(e.t, "List", e.orgs(), []repo.Org{w.B.Org})
			if got := e.orgsOf(w.A.Owner.ID); len(got) != 0 {
				e.t.Errorf("ListForUser shows deleted orgs: %v", got)
			}
			same(e.t, "B", e.tenantSnapshot(w.B), b)
			same(e.t, "B's org", must(e.db.Orgs().Get(e.ctx, w.B.Org.ID)).of(e.t), w.B.Org)
		}},
		{"Orgs/DeleteUnknown", func(e *env) {
			org := e.newOrg()
			notFound(e.t, e.db.Orgs().Delete(e.ctx, repo.NewID()))
			same(e.t, "List", e.orgs(), []repo.Org{org})
		}},
		{"Orgs/BumpPolicyVersion", func(e *env) {
			org, other := e.newOrg(), e.newOrg()
			for want := int64(2); want <= 4; want++ {
				if got := must(e.db.Orgs().BumpPolicyVersion(e.ctx, org.ID)).of(e.t); got != want {
					e.t.Errorf("BumpPolicyVersion = %d, want %d", got, want)
				}
			}
			if got := must(e.db.Orgs().PolicyVersion(e.ctx, org.ID)).of(e.t); got != 4 {
				e.t.Errorf("PolicyVersion = %d, want 4", got)
			}
			if got := must(e.db.Orgs().Get(e.ctx, org.ID)).of(e.t).PolicyVersion; got != 4 {
				e.t.Errorf("Get().PolicyVersion = %d, want 4", got)
			}
			if got := must(e.db.Orgs().PolicyVersion(e.ctx, other.ID)).of(e.t); got != 1 {
				e.t.Errorf("other org's PolicyVersion = %d, want 1", got)
			}
			notFound(e.t, second(e.db.Orgs().BumpPolicyVersion(e.ctx, repo.NewID())))
		}},
		{"Orgs/ListForUser", func(e *env) {
			u, lone := e.newUser(), e.newUser()
			a, b, c := e.newOrg(), e.newOrg(), e.newOrg()
			must(e.db.Memberships().Add(e.ctx, c.ID, u.ID)).of(e.t)
			must(e.db.Memberships().Add(e.ctx, a.ID, u.ID)).of(e.t)
			must(e.db.Memberships().Add(e.ctx, b.ID, lone.ID)).of(e.t)
			same(e.t, "ListForUser", e.orgsOf(u.ID), []repo.Org{a, c})
			same(e.t, "ListForUser(lone)", e.orgsOf(lone.ID), []repo.Org{b})
			same(e.t, "ListForUser(no memberships)", e.orgsOf(e.newUser().ID), []repo.Org{})
			ok(e.t, e.db.Memberships().Remove(e.ctx, a.ID, u.ID))
			same(e.t, "ListForUser after Remove", e.orgsOf(u.ID), []repo.Org{c})
		}},
		{"Orgs/ListEmpty", func(e *env) {
			p := must(e.db.Orgs().List(e.ctx, repo.PageRequest{})).of(e.t)
			if p.Items == nil || len(p.Items) != 0 || p.Next != "" {
				e.t.Errorf("List of no orgs = %#v, want empty non-nil Items and no Next", p)
			}
		}},
	}
}

// second returns the error of a two-result call.
func second[T any](_ T, err error) error { return err }
