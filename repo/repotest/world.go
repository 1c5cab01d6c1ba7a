package repotest

import (
	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// tenant is one org with a row of every kind in it.
type tenant struct {
	Org            repo.Org
	Owner, Member  repo.User // both members of Org
	OwnerRole      repo.Role // built-in, bound to Owner org-wide
	CustomRole     repo.Role // custom, bound to Member on Project
	OnlyRole       repo.Role // a custom role whose name no other tenant uses
	Project        repo.Project
	OrgBinding     repo.RoleBinding
	ProjectBinding repo.RoleBinding
	OwnerKey       repo.APIKey
	MemberKey      repo.APIKey
	Event          repo.AuditEvent
}

// world is two tenants with the same role and project names, and a user
// who belongs to neither.
type world struct {
	A, B     tenant
	Outsider repo.User
}

// world builds the two-tenant fixture.
func (e *env) world() *world {
	e.t.Helper()
	return &world{A: e.tenant("a"), B: e.tenant("b"), Outsider: e.newUser()}
}

// tenant builds one tenant; name tells its OnlyRole apart.
func (e *env) tenant(name string) tenant {
	e.t.Helper()
	var tn tenant
	tn.Org = e.newOrg()
	org := tn.Org.ID
	tn.Owner = e.newMember(org)
	tn.Member = e.newMember(org)
	tn.OwnerRole = e.role(org, "owner", true, "*")
	tn.CustomRole = e.role(org, "deployer", false, "projects.read", "projects.deploy")
	tn.OnlyRole = e.role(org, "only-"+name, false, "projects.read")
	tn.Project = must(e.db.Projects().Create(e.ctx, org, repo.NewProject{Name: "apollo", Description: "the " + name + " one"})).of(e.t)
	tn.OrgBinding = e.bind(org, tn.Owner.ID, tn.OwnerRole.ID, nil)
	tn.ProjectBinding = e.bind(org, tn.Member.ID, tn.CustomRole.ID, &tn.Project.ID)
	tn.OwnerKey = e.newKey(org, tn.Owner.ID)
	tn.MemberKey = e.newKey(org, tn.Member.ID)
	tn.Event = e.appendEvent(org)
	return tn
}

// snapshot is everything the repositories show about a world.
type snapshot struct {
	Orgs    []repo.Org
	Users   []repo.User
	Tenants []tenantSnapshot
}

// tenantSnapshot is everything the repositories show about one org.
type tenantSnapshot struct {
	PolicyVersion int64
	Members       []repo.Member
	Roles         []repo.Role
	Bindings      []repo.RoleBinding
	Grants        [][]repo.Grant // of Owner, then Member
	Projects      []repo.Project
	Keys          []repo.APIKey
	Events        []repo.AuditEvent
	HeadSeq       int64
	HeadHash      []byte
}

// snapshot reads everything the repositories show about w.
func (e *env) snapshot(w *world) snapshot {
	e.t.Helper()
	ctx, s := e.ctx, e.db
	snap := snapshot{Orgs: e.orgs()}
	for _, u := range []repo.User{w.A.Owner, w.A.Member, w.B.Owner, w.B.Member, w.Outsider} {
		snap.Users = append(snap.Users, must(s.Users().Get(ctx, u.ID)).of(e.t))
	}
	for _, tn := range []tenant{w.A, w.B} {
		snap.Tenants = append(snap.Tenants, e.tenantSnapshot(tn))
	}
	return snap
}

// tenantSnapshot reads everything the repositories show about tn's org.
func (e *env) tenantSnapshot(tn tenant) tenantSnapshot {
	e.t.Helper()
	ctx, s, org := e.ctx, e.db, tn.Org.ID
	var ts tenantSnapshot
	ts.PolicyVersion = must(s.Orgs().PolicyVersion(ctx, org)).of(e.t)
	ts.Members = e.members(org)
	ts.Roles = e.roles(org)
	ts.Bindings = e.bindings(org)
	for _, u := range []uuid.UUID{tn.Owner.ID, tn.Member.ID} {
		ts.Grants = append(ts.Grants, must(s.RoleBindings().Grants(ctx, org, u)).of(e.t))
	}
	ts.Projects = e.projects(org)
	ts.Keys = e.keys(org)
	ts.Events = e.events(org, repo.AuditFilter{})
	var err error
	ts.HeadSeq, ts.HeadHash, err = s.AuditEvents().Head(ctx, org)
	ok(e.t, err)
	return ts
}

// unchanged runs change, which must fail, and checks that the world reads
// the same afterwards as before; it returns change's error.
func (e *env) unchanged(w *world, change func() error) error {
	e.t.Helper()
	before := e.snapshot(w)
	err := change()
	if err == nil {
		e.t.Errorf("the change succeeded, want an error")
	}
	same(e.t, "world", e.snapshot(w), before)
	return err
}
