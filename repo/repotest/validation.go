package repotest

import (
	"fmt"
	"strings"

	"github.com/strata-go/strata/repo"
)

// change is one call of a repository method on a world.
type change func(e *env, w *world) error

// Calls that take one input field, for the tables below.

func createOrg(slug, name, region string) change {
	return func(e *env, _ *world) error {
		return second(e.db.Orgs().Create(e.ctx, repo.NewOrg{Slug: slug, Name: name, Region: region}))
	}
}

func updateOrg(in repo.OrgUpdate) change {
	return func(e *env, w *world) error { return second(e.db.Orgs().Update(e.ctx, w.A.Org.ID, in)) }
}

func createUser(email, name string) change {
	return func(e *env, _ *world) error {
		return second(e.db.Users().Create(e.ctx, repo.NewUser{Email: email, Name: name}))
	}
}

func updateUser(in repo.UserUpdate) change {
	return func(e *env, w *world) error { return second(e.db.Users().Update(e.ctx, w.A.Member.ID, in)) }
}

func createRole(name string, perms ...string) change {
	return func(e *env, w *world) error {
		return second(e.db.Roles().Create(e.ctx, w.A.Org.ID, repo.NewRole{Name: name, Permissions: perms}))
	}
}

func updateRole(perms ...string) change {
	return func(e *env, w *world) error {
		return second(e.db.Roles().UpdatePermissions(e.ctx, w.A.Org.ID, w.A.CustomRole.ID, perms))
	}
}

func createProject(name, desc string) change {
	return func(e *env, w *world) error {
		return second(e.db.Projects().Create(e.ctx, w.A.Org.ID, repo.NewProject{Name: name, Description: desc}))
	}
}

func updateProject(in repo.ProjectUpdate) change {
	return func(e *env, w *world) error {
		return second(e.db.Projects().Update(e.ctx, w.A.Org.ID, w.A.Project.ID, in))
	}
}

func createKey(name string, hash []byte) change {
	return func(e *env, w *world) error {
		return second(e.db.APIKeys().Create(e.ctx, w.A.Org.ID, repo.NewAPIKey{UserID: w.A.Member.ID, Name: name, SecretHash: hash}))
	}
}

func appendAudit(edit func(*repo.AuditEvent)) change {
	return func(e *env, w *world) error {
		return second(e.db.AuditEvents().Append(e.ctx, event(w.A.Org.ID, edit), seal))
	}
}

// repeat returns s repeated count times.
func repeat(s string, count int) string { return strings.Repeat(s, count) }

// manyPerms returns count distinct valid permissions.
func manyPerms(count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf("res_%c%c.read", 'a'+i/26%26, 'a'+i%26)
	}
	return out
}

// validationCases try malformed input on every method that takes some: each
// is ErrInvalid naming the field, and the database is unchanged.
func validationCases() []testCase {
	var cs []testCase
	for _, c := range []struct {
		name, field string
		try         change
	}{
		{"Orgs/Create/SlugEmpty", "slug", createOrg("", "Acme", "")},
		{"Orgs/Create/SlugUpperCase", "slug", createOrg("Acme", "Acme", "")},
		{"Orgs/Create/SlugLeadingDash", "slug", createOrg("-acme", "Acme", "")},
		{"Orgs/Create/SlugTrailingDash", "slug", createOrg("acme-", "Acme", "")},
		{"Orgs/Create/SlugTooLong", "slug", createOrg(repeat("a", repo.MaxSlugLen+1), "Acme", "")},
		{"Orgs/Create/SlugUnderscore", "slug", createOrg("ac_me", "Acme", "")},
		{"Orgs/Create/SlugSpace", "slug", createOrg("ac me", "Acme", "")},
		{"Orgs/Create/SlugNonASCII", "slug", createOrg("acmé", "Acme", "")},
		{"Orgs/Create/NameEmpty", "name", createOrg("acme", "", "")},
		{"Orgs/Create/NameBlank", "name", createOrg("acme", " \t ", "")},
		{"Orgs/Create/NameTooLong", "name", createOrg("acme", repeat("n", repo.MaxNameLen+1), "")},
		{"Orgs/Create/NameTooManyRunes", "name", createOrg("acme", repeat("é", repo.MaxNameLen+1), "")},
		{"Orgs/Create/NameNUL", "name", createOrg("acme", "ac\x00me", "")},
		{"Orgs/Create/NameBadUTF8", "name", createOrg("acme", "ac\xffme", "")},
		{"Orgs/Create/RegionBlank", "region", createOrg("acme", "Acme", "  ")},
		{"Orgs/Create/RegionTooLong", "region", createOrg("acme", "Acme", repeat("r", repo.MaxRegionLen+1))},
		{"Orgs/Update/NameEmpty", "name", updateOrg(repo.OrgUpdate{Name: ptr("")})},
		{"Orgs/Update/NameTooLong", "name", updateOrg(repo.OrgUpdate{Name: ptr(repeat("n", repo.MaxNameLen+1))})},
		{"Orgs/Update/RegionEmpty", "region", updateOrg(repo.OrgUpdate{Region: ptr("")})},
		{"Orgs/Update/RegionTooLong", "region", updateOrg(repo.OrgUpdate{Name: ptr("fine"), Region: ptr(repeat("r", repo.MaxRegionLen+1))})},
		{"Users/Create/EmailEmpty", "email", createUser("", "Al")},
		{"Users/Create/EmailNoAt", "email", createUser("al.example.com", "Al")},
		{"Users/Create/EmailNoLocalPart", "email", createUser("@example.com", "Al")},
		{"Users/Create/EmailNoDomain", "email", createUser("al@", "Al")},
		{"Users/Create/EmailDisplayName", "email", createUser("Al <al@example.com>", "Al")},
		{"Users/Create/EmailSpace", "email", createUser("a l@example.com", "Al")},
		{"Users/Create/EmailTooLong", "email", createUser(repeat("a", 64)+"@"+repeat("b", 186)+".com", "Al")},
		{"Users/Create/NameTooLong", "name", createUser("al@example.com", repeat("n", repo.MaxNameLen+1))},
		{"Users/Create/NameBadUTF8", "name", createUser("al@example.com", "\xc3")},
		{"Users/Update/NameTooLong", "name", updateUser(repo.UserUpdate{Name: ptr(repeat("n", repo.MaxNameLen+1))})},
		{"Users/Update/StatusUnknown", "status", updateUser(repo.UserUpdate{Status: ptr(repo.UserStatus("deleted"))})},
		{"Users/Update/StatusEmpty", "status", updateUser(repo.UserUpdate{Name: ptr("fine"), Status: ptr(repo.UserStatus(""))})},
		{"Roles/Create/NameEmpty", "name", createRole("", "projects.read")},
		{"Roles/Create/NameUpperCase", "name", createRole("Admin", "projects.read")},
		{"Roles/Create/NameLeadingUnderscore", "name", createRole("_admin", "projects.read")},
		{"Roles/Create/NameLeadingDash", "name", createRole("-admin", "projects.read")},
		{"Roles/Create/NameSpace", "name", createRole("release manager", "projects.read")},
		{"Roles/Create/NameDot", "name", createRole("a.b", "projects.read")},
		{"Roles/Create/NameTooLong", "name", createRole(repeat("r", repo.MaxRoleNameLen+1), "projects.read")},
		{"Roles/Create/PermissionEmpty", "permissions", createRole("ops", "projects.read", "")},
		{"Roles/Create/PermissionUpperCase", "permissions", createRole("ops", "Projects.read")},
		{"Roles/Create/PermissionTrailingDot", "permissions", createRole("ops", "projects.")},
		{"Roles/Create/PermissionLeadingDot", "permissions", createRole("ops", ".read")},
		{"Roles/Create/PermissionLeadingWildcard", "permissions", createRole("ops", "*.read")},
		{"Roles/Create/PermissionDoubleWildcard", "permissions", createRole("ops", "projects.**")},
		{"Roles/Create/PermissionSpace", "permissions", createRole("ops", "projects read")},
		{"Roles/Create/PermissionDigit", "permissions", createRole("ops", "projects.read2")},
		{"Roles/Create/PermissionTooLong", "permissions", createRole("ops", repeat("p", repo.MaxPermissionLen+1))},
		{"Roles/Create/TooManyPermissions", "permissions", createRole("ops", manyPerms(repo.MaxPermissions+1)...)},
		{"Roles/UpdatePermissions/BadForm", "permissions", updateRole("projects..read")},
		{"Roles/UpdatePermissions/TooMany", "permissions", updateRole(manyPerms(repo.MaxPermissions + 1)...)},
		{"Projects/Create/NameEmpty", "name", createProject("", "")},
		{"Projects/Create/NameBlank", "name", createProject("   ", "")},
		{"Projects/Create/NameTooLong", "name", createProject(repeat("é", repo.MaxNameLen+1), "")},
		{"Projects/Create/NameNUL", "name", createProject("a\x00", "")},
		{"Projects/Create/DescriptionTooLong", "description", createProject("fine", repeat("d", repo.MaxDescriptionLen+1))},
		{"Projects/Create/DescriptionBadUTF8", "description", createProject("fine", "\xff\xfe")},
		{"Projects/Update/NameEmpty", "name", updateProject(repo.ProjectUpdate{Name: ptr("")})},
		{"Projects/Update/NameTooLong", "name", updateProject(repo.ProjectUpdate{Name: ptr(repeat("n", repo.MaxNameLen+1))})},
		{"Projects/Update/DescriptionTooLong", "description", updateProject(repo.ProjectUpdate{Description: ptr(repeat("d", repo.MaxDescriptionLen+1))})},
		{"APIKeys/Create/NameEmpty", "name", createKey("", secret("k"))},
		{"APIKeys/Create/NameTooLong", "name", createKey(repeat("k", repo.MaxNameLen+1), secret("k"))},
		{"APIKeys/Create/SecretHashNil", "secret_hash", createKey("k", nil)},
		{"APIKeys/Create/SecretHashShort", "secret_hash", createKey("k", secret("k")[:31])},
		{"APIKeys/Create/SecretHashLong", "secret_hash", createKey("k", append(secret("k"), 0))},
		{"AuditEvents/Append/ActionEmpty", "action", appendAudit(func(ev *repo.AuditEvent) { ev.Action = "" })},
		{"AuditEvents/Append/ActionTooLong", "action", appendAudit(func(ev *repo.AuditEvent) { ev.Action = repeat("a", 101) })},
		{"AuditEvents/Append/ActorTypeUnknown", "actor_type", appendAudit(func(ev *repo.AuditEvent) { ev.ActorType = "robot" })},
		{"AuditEvents/Append/ActorTypeEmpty", "actor_type", appendAudit(func(ev *repo.AuditEvent) { ev.ActorType = "" })},
		{"AuditEvents/Append/OutcomeUnknown", "outcome", appendAudit(func(ev *repo.AuditEvent) { ev.Outcome = "maybe" })},
		{"AuditEvents/Append/OutcomeEmpty", "outcome", appendAudit(func(ev *repo.AuditEvent) { ev.Outcome = "" })},
		{"AuditEvents/Append/MetadataArray", "metadata", appendAudit(func(ev *repo.AuditEvent) { ev.Metadata = `["a"]` })},
		{"AuditEvents/Append/MetadataNumber", "metadata", appendAudit(func(ev *repo.AuditEvent) { ev.Metadata = "42" })},
		{"AuditEvents/Append/MetadataString", "metadata", appendAudit(func(ev *repo.AuditEvent) { ev.Metadata = `"text"` })},
		{"AuditEvents/Append/MetadataNull", "metadata", appendAudit(func(ev *repo.AuditEvent) { ev.Metadata = "null" })},
		{"AuditEvents/Append/MetadataNotJSON", "metadata", appendAudit(func(ev *repo.AuditEvent) { ev.Metadata = "not json" })},
		{"AuditEvents/Append/MetadataTruncated", "metadata", appendAudit(func(ev *repo.AuditEvent) { ev.Metadata = `{"a":` })},
	} {
		cs = append(cs, testCase{"Validation/" + c.name, func(e *env) {
			w := e.world()
			wantInvalid(e.t, e.unchanged(w, func() error { return c.try(e, w) }), c.field)
		}})
	}
	return cs
}

// beforeLookupCases give malformed input together with IDs that do not
// exist: input is validated before any SQL runs, so the answer is ErrInvalid
// naming the field, not ErrNotFound.
func beforeLookupCases() []testCase {
	var cs []testCase
	for _, c := range []struct {
		name, field string
		try         func(e *env) error
	}{
		{"Orgs/Update", "name", func(e *env) error {
			return second(e.db.Orgs().Update(e.ctx, repo.NewID(), repo.OrgUpdate{Name: ptr("")}))
		}},
		{"Users/Update", "status", func(e *env) error {
			return second(e.db.Users().Update(e.ctx, repo.NewID(), repo.UserUpdate{Status: ptr(repo.UserStatus("gone"))}))
		}},
		{"Roles/Create", "name", func(e *env) error {
			return second(e.db.Roles().Create(e.ctx, repo.NewID(), repo.NewRole{Name: "Bad Name"}))
		}},
		{"Roles/UpdatePermissions", "permissions", func(e *env) error {
			return second(e.db.Roles().UpdatePermissions(e.ctx, repo.NewID(), repo.NewID(), []string{"Bad"}))
		}},
		{"Projects/Create", "name", func(e *env) error {
			return second(e.db.Projects().Create(e.ctx, repo.NewID(), repo.NewProject{Name: ""}))
		}},
		{"Projects/Update", "description", func(e *env) error {
			return second(e.db.Projects().Update(e.ctx, repo.NewID(), repo.NewID(), repo.ProjectUpdate{Description: ptr("\xff")}))
		}},
		{"APIKeys/Create", "secret_hash", func(e *env) error {
			return second(e.db.APIKeys().Create(e.ctx, repo.NewID(), repo.NewAPIKey{UserID: repo.NewID(), Name: "k", SecretHash: []byte("short")}))
		}},
		{"AuditEvents/Append", "outcome", func(e *env) error {
			called := false
			_, err := e.db.AuditEvents().Append(e.ctx, event(repo.NewID(), func(ev *repo.AuditEvent) { ev.Outcome = "perhaps" }),
				func(ev *repo.AuditEvent) []byte { called = true; return seal(ev) })
			if called {
				e.t.Errorf("the sealer was called for an invalid event")
			}
			return err
		}},
	} {
		cs = append(cs, testCase{"Validation/BeforeLookup/" + c.name, func(e *env) {
			wantInvalid(e.t, c.try(e), c.field)
		}})
	}
	return cs
}

// boundaryCases store input at the limits of what is valid and read it back.
func boundaryCases() []testCase {
	var cs []testCase
	for _, c := range []struct {
		name string
		try  func(e *env) (made, read any)
	}{
		{"Orgs/LongestSlugNameRegion", func(e *env) (any, any) {
			o := must(e.db.Orgs().Create(e.ctx, repo.NewOrg{Slug: "a" + repeat("-9", 31), Name: repeat("é", repo.MaxNameLen), Region: repeat("r", repo.MaxRegionLen)})).of(e.t)
			return o, must(e.db.Orgs().GetBySlug(e.ctx, o.Slug)).of(e.t)
		}},
		{"Orgs/OneCharacterSlug", func(e *env) (any, any) {
			o := must(e.db.Orgs().Create(e.ctx, repo.NewOrg{Slug: "x", Name: "X"})).of(e.t)
			return o, must(e.db.Orgs().Get(e.ctx, o.ID)).of(e.t)
		}},
		{"Users/LongestEmailAndName", func(e *env) (any, any) {
			email := repeat("a", 64) + "@" + repeat("b", 185) + ".com"
			u := must(e.db.Users().Create(e.ctx, repo.NewUser{Email: email, Name: repeat("ß", repo.MaxNameLen)})).of(e.t)
			return u, must(e.db.Users().GetByEmail(e.ctx, email)).of(e.t)
		}},
		{"Roles/LongestNameAndPermissions", func(e *env) (any, any) {
			org := e.newOrg()
			perms := append(manyPerms(repo.MaxPermissions-1), repeat("p", repo.MaxPermissionLen))
			r := must(e.db.Roles().Create(e.ctx, org.ID, repo.NewRole{Name: "0" + repeat("_-z", 20) + "9z", Permissions: perms})).of(e.t)
			return r, must(e.db.Roles().GetByName(e.ctx, org.ID, r.Name)).of(e.t)
		}},
		{"Roles/PermissionForms", func(e *env) (any, any) {
			org := e.newOrg()
			perms := []string{"*", "projects.*", "projects.update", "a_b.c_d.e_f", "x"}
			r := must(e.db.Roles().Create(e.ctx, org.ID, repo.NewRole{Name: "forms", Permissions: perms})).of(e.t)
			return r, must(e.db.Roles().Get(e.ctx, org.ID, r.ID)).of(e.t)
		}},
		{"Projects/LongestNameAndDescription", func(e *env) (any, any) {
			org := e.newOrg()
			p := must(e.db.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: repeat("名", repo.MaxNameLen), Description: repeat("ü", repo.MaxDescriptionLen)})).of(e.t)
			return p, must(e.db.Projects().Get(e.ctx, org.ID, p.ID)).of(e.t)
		}},
		{"APIKeys/LongestName", func(e *env) (any, any) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			k := must(e.db.APIKeys().Create(e.ctx, org.ID, repo.NewAPIKey{UserID: u.ID, Name: repeat("k", repo.MaxNameLen), SecretHash: make([]byte, 32)})).of(e.t)
			return k, must(e.db.APIKeys().Lookup(e.ctx, k.ID)).of(e.t)
		}},
		{"AuditEvents/LongestAction", func(e *env) (any, any) {
			org := e.newOrg()
			ev := e.appendEvent(org.ID, func(ev *repo.AuditEvent) { ev.Action = repeat("ä", 100); ev.ActorID = "" })
			return ev, e.events(org.ID, repo.AuditFilter{})[0]
		}},
	} {
		cs = append(cs, testCase{"Boundaries/" + c.name, func(e *env) {
			made, read := c.try(e)
			same(e.t, fmt.Sprintf("%T read back", made), read, made)
		}})
	}
	return cs
}
