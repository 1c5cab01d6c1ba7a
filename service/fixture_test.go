package service_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/mocks"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// repos holds one mock per repository of a Store.
type repos struct {
	orgs     *mocks.MockOrgs
	users    *mocks.MockUsers
	members  *mocks.MockMemberships
	roles    *mocks.MockRoles
	bindings *mocks.MockRoleBindings
	projects *mocks.MockProjects
	keys     *mocks.MockAPIKeys
	audit    *mocks.MockAuditEvents
	idem     *mocks.MockIdempotencyKeys
}

// newRepos makes the repository mocks of store, and calls touched with the
// name of each repository store hands out.
func newRepos(ctrl *gomock.Controller, store *mocks.MockStore, touched func(string)) repos {
	r := repos{
		orgs: mocks.NewMockOrgs(ctrl), users: mocks.NewMockUsers(ctrl),
		members: mocks.NewMockMemberships(ctrl), roles: mocks.NewMockRoles(ctrl),
		bindings: mocks.NewMockRoleBindings(ctrl), projects: mocks.NewMockProjects(ctrl),
		keys: mocks.NewMockAPIKeys(ctrl), audit: mocks.NewMockAuditEvents(ctrl),
		idem: mocks.NewMockIdempotencyKeys(ctrl),
	}
	e := store.EXPECT()
	e.Orgs().DoAndReturn(func() repo.Orgs { touched("orgs"); return r.orgs }).AnyTimes()
	e.Users().DoAndReturn(func() repo.Users { touched("users"); return r.users }).AnyTimes()
	e.Memberships().DoAndReturn(func() repo.Memberships { touched("members"); return r.members }).AnyTimes()
	e.Roles().DoAndReturn(func() repo.Roles { touched("roles"); return r.roles }).AnyTimes()
	e.RoleBindings().DoAndReturn(func() repo.RoleBindings { touched("bindings"); return r.bindings }).AnyTimes()
	e.Projects().DoAndReturn(func() repo.Projects { touched("projects"); return r.projects }).AnyTimes()
	e.APIKeys().DoAndReturn(func() repo.APIKeys { touched("keys"); return r.keys }).AnyTimes()
	e.AuditEvents().DoAndReturn(func() repo.AuditEvents { touched("audit"); return r.audit }).AnyTimes()
	e.IdempotencyKeys().DoAndReturn(func() repo.IdempotencyKeys { touched("idempotency"); return r.idem }).AnyTimes()
	return r
}

// fixture is a Service over mocks: db are the repositories of the database's
// Store, tx those of the Store its transactions get. The caller acts in org
// "acme" through a key; user, project, binding, role and key are the IDs the
// use cases act on.
type fixture struct {
	t                  *testing.T
	ctx                context.Context
	store, txStore     *mocks.MockStore
	db, tx             repos
	authz              *mocks.MockAuthorizer
	svc                *service.Service
	now                time.Time
	org                repo.Org
	p                  service.Principal
	user, project      uuid.UUID
	binding, role, key uuid.UUID
	committed          int               // transactions committed so far
	appended           []repo.AuditEvent // the events appended so far
	txTouched          []string          // the repositories handed out by the transaction, in order
}

func newFixture(t *testing.T) *fixture {
	ctrl := gomock.NewController(t)
	f := &fixture{
		t: t, ctx: context.Background(),
		store: mocks.NewMockStore(ctrl), txStore: mocks.NewMockStore(ctrl),
		authz: mocks.NewMockAuthorizer(ctrl),
		now:   time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		org:   repo.Org{ID: repo.NewID(), Slug: "acme", Name: "Acme", Region: "local", PolicyVersion: 6},
		user:  repo.NewID(), project: repo.NewID(), binding: repo.NewID(), role: repo.NewID(), key: repo.NewID(),
	}
	f.p = service.Principal{OrgID: f.org.ID, UserID: repo.NewID(), KeyID: repo.NewID(),
		Request: service.Request{RemoteAddr: "192.0.2.7", RequestID: "req-1"}}
	f.db = newRepos(ctrl, f.store, func(string) {})
	f.tx = newRepos(ctrl, f.txStore, func(name string) { f.txTouched = append(f.txTouched, name) })
	f.svc = service.New(f.store, f.authz, service.Options{Now: func() time.Time { return f.now }})
	// An Authorizer that vouches for no cache: every use case reads what it
	// resolves (the caches have tests of their own, on real databases).
	f.authz.EXPECT().Version(anything, anything).Return(int64(0), false, nil).AnyTimes()
	return f
}

// expectOrg expects the caller's org to be looked up by its slug.
func (f *fixture) expectOrg() *gomock.Call {
	return f.db.orgs.EXPECT().GetBySlug(anything, f.org.Slug).Return(f.org, nil)
}

// expectCheck expects the caller's permission check, allowed or denied.
func (f *fixture) expectCheck(perm string, project *uuid.UUID, allowed bool) *gomock.Call {
	d := rbac.Decision{Allowed: allowed, Reason: "no org-wide binding of the user grants the permission"}
	if project == nil {
		return f.authz.EXPECT().Check(anything, f.org.ID, f.p.UserID, perm, gomock.Nil()).Return(d, nil)
	}
	return f.authz.EXPECT().Check(anything, f.org.ID, f.p.UserID, perm, project).Return(d, nil)
}

// expectInTx expects one transaction of store, running its function against
// f.txStore. The commit fails with commitErr when set; a successful commit
// counts in f.committed.
func (f *fixture) expectInTx(store *mocks.MockStore, commitErr error) *gomock.Call {
	return store.EXPECT().InTx(anything, anything).DoAndReturn(
		func(_ context.Context, fn func(repo.Store) error) error {
			if err := fn(f.txStore); err != nil {
				return err
			}
			if commitErr != nil {
				return commitErr
			}
			f.committed++
			return nil
		})
}

// expectBump expects the org's policy version to be bumped in the
// transaction, to version.
func (f *fixture) expectBump(version int64) *gomock.Call {
	return f.tx.orgs.EXPECT().BumpPolicyVersion(anything, f.org.ID).Return(version, nil)
}

// expectInvalidate expects the authorizer to learn version, after the
// transaction committed.
func (f *fixture) expectInvalidate(version int64) *gomock.Call {
	return f.authz.EXPECT().Invalidate(f.org.ID, version).Do(func(uuid.UUID, int64) {
		if f.committed == 0 {
			f.t.Error("Invalidate called before the transaction committed")
		}
	})
}

// event is the part of an audit event a use case decides.
type event struct {
	action, targetType, targetID string
	outcome                      repo.Outcome
	actorType                    repo.ActorType
	actorID                      string
	meta                         map[string]any // nil: not checked
}

// expectAppend expects one event appended in the transaction, matching want.
func (f *fixture) expectAppend(want event) *gomock.Call {
	return f.tx.audit.EXPECT().Append(anything, anything, anything).DoAndReturn(
		func(_ context.Context, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
			f.checkEvent(ev, want)
			f.appended = append(f.appended, ev)
			ev.Seq, ev.PrevHash = 1, make([]byte, 32)
			if ev.Hash = seal(&ev); len(ev.Hash) != 32 {
				f.t.Errorf("seal gave a %d-byte hash", len(ev.Hash))
			}
			return ev, nil
		})
}

func (f *fixture) checkEvent(got repo.AuditEvent, want event) {
	f.t.Helper()
	if want.actorType == "" {
		want.actorType, want.actorID = repo.ActorUser, f.p.UserID.String()
	}
	if got.OrgID != f.org.ID || got.Action != want.action || got.TargetType != want.targetType ||
		got.TargetID != want.targetID || got.Outcome != want.outcome ||
		got.ActorType != want.actorType || got.ActorID != want.actorID {
		f.t.Errorf("event = {org %s %s %s/%q %s by %s %s}, want {org %s %s %s/%q %s by %s %s}",
			got.OrgID, got.Action, got.TargetType, got.TargetID, got.Outcome, got.ActorType, got.ActorID,
			f.org.ID, want.action, want.targetType, want.targetID, want.outcome, want.actorType, want.actorID)
	}
	if got.RemoteAddr != f.p.RemoteAddr || got.RequestID != f.p.RequestID || got.APIKeyID != f.p.KeyID {
		f.t.Errorf("event request = %q %q through key %v, want %q %q through %v",
			got.RemoteAddr, got.RequestID, got.APIKeyID, f.p.RemoteAddr, f.p.RequestID, f.p.KeyID)
	}
	var meta any
	if err := json.Unmarshal([]byte(got.Metadata), &meta); err != nil {
		f.t.Errorf("metadata %q: %v", got.Metadata, err)
	}
	if w := jsonValue(f.t, want.meta); want.meta != nil && !reflect.DeepEqual(meta, w) {
		f.t.Errorf("metadata = %s\nwant       %s", got.Metadata, mustJSON(f.t, w))
	}
}

// successMeta is the metadata of a successful mutation by the caller.
func (f *fixture) successMeta(before, after map[string]any) map[string]any {
	m := map[string]any{}
	if before != nil {
		m["before"] = before
	}
	if after != nil {
		m["after"] = after
	}
	return m
}

// grantsOf answers Grants for userID, as CanGrant and EnsureNotLastOwner
// read them, with one org-wide binding of role.
func (f *fixture) grantsOf(userID uuid.UUID, role repo.Role) *gomock.Call {
	return f.tx.bindings.EXPECT().Grants(anything, f.org.ID, userID).Return([]repo.Grant{{
		BindingID: repo.NewID(), RoleID: role.ID, RoleName: role.Name, Permissions: role.Permissions, UserStatus: repo.UserActive,
	}}, nil)
}

// ownerGrants answers Grants for an owner.
func (f *fixture) ownerGrants(userID uuid.UUID) *gomock.Call {
	return f.grantsOf(userID, f.builtin(rbac.Owner))
}

// expectMember expects member f.user (ann@example.com) to be read in the
// transaction.
func (f *fixture) expectMember() *gomock.Call {
	return f.tx.members.EXPECT().Get(anything, f.org.ID, f.user).
		Return(repo.Member{OrgID: f.org.ID, User: repo.User{ID: f.user, Email: "ann@example.com"}}, nil)
}

// outranked answers the grants of member f.user, an owner, and of the
// caller, an admin: the caller does not hold all the member holds.
func (f *fixture) outranked() {
	f.ownerGrants(f.user)
	f.grantsOf(f.p.UserID, f.builtin(rbac.Admin))
}

// builtin returns the built-in role called name, with a fresh ID.
func (f *fixture) builtin(name string) repo.Role {
	for _, r := range rbac.BuiltinRoles() {
		if r.Name == name {
			return repo.Role{ID: repo.NewID(), OrgID: f.org.ID, Name: name, Builtin: true, Permissions: r.Permissions}
		}
	}
	f.t.Fatalf("no built-in role %q", name)
	return repo.Role{}
}

// jsonValue is v as encoding/json decodes it back: what metadata compares to.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := json.Unmarshal([]byte(mustJSON(t, v)), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }
