package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// rolePerms are what the built-in roles hold, written out here rather than
// read from rbac so the test checks them.
var rolePerms = map[string][]string{
	rbac.Owner: {"*"},
	rbac.Admin: {"org.read", "org.update", "members.read", "members.manage", "roles.read", "roles.manage",
		"projects.read", "projects.create", "projects.update", "projects.delete", "apikeys.manage", "audit.read"},
	rbac.Member: {"org.read", "members.read", "roles.read", "projects.read", "projects.create", "projects.update"},
	rbac.Viewer: {"org.read", "members.read", "roles.read", "projects.read"},
}

func holds(role, perm string) bool {
	perms := rolePerms[role]
	return slices.Contains(perms, "*") || slices.Contains(perms, perm)
}

// call is one request to make.
type call struct{ method, path, body string }

// endpoint is one /v1 route in the matrix: the permission it needs, its
// success status, and how to make a request on something that exists
// (prepared as the owner, through the service).
type endpoint struct {
	route   string // the pattern it exercises
	perm    string
	status  int
	prepare func(w *world) call
}

// endpoints covers every /v1 route.
func endpoints() []endpoint {
	const o = "/v1/orgs/acme"
	get := func(path string) func(*world) call {
		return func(*world) call { return call{"GET", o + path, ""} }
	}
	return []endpoint{
		{"GET /v1/orgs/{org}", "org.read", 200, get("")},
		{"PATCH /v1/orgs/{org}", "org.update", 200, func(w *world) call { return call{"PATCH", o, fmt.Sprintf(`{"name":"Acme %d"}`, w.next())} }},

		{"GET /v1/orgs/{org}/members", "members.read", 200, get("/members")},
		{"POST /v1/orgs/{org}/members", "members.manage", 201, func(w *world) call {
			return call{"POST", o + "/members", fmt.Sprintf(`{"email":"new-%d@acme.test","name":"New","role":"viewer"}`, w.next())}
		}},
		{"DELETE /v1/orgs/{org}/members/{user_id}", "members.manage", 204, func(w *world) call { return call{"DELETE", o + "/members/" + w.addMember(rbac.Viewer).String(), ""} }},

		{"GET /v1/orgs/{org}/roles", "roles.read", 200, get("/roles")},
		{"POST /v1/orgs/{org}/roles", "roles.manage", 201, func(w *world) call {
			return call{"POST", o + "/roles", fmt.Sprintf(`{"name":"custom-%d","permissions":["projects.read"]}`, w.next())}
		}},
		{"PUT /v1/orgs/{org}/roles/{name}", "roles.manage", 200, func(w *world) call {
			return call{"PUT", o + "/roles/" + w.customRole(), `{"permissions":["projects.read","projects.update"]}`}
		}},
		{"DELETE /v1/orgs/{org}/roles/{name}", "roles.manage", 204, func(w *world) call { return call{"DELETE", o + "/roles/" + w.customRole(), ""} }},

		{"GET /v1/orgs/{org}/role-bindings", "roles.read", 200, get("/role-bindings")},
		{"POST /v1/orgs/{org}/role-bindings", "roles.manage", 201, func(w *world) call {
			return call{"POST", o + "/role-bindings", `{"user_id":"` + w.addMember(rbac.Viewer).String() + `","role":"member"}`}
		}},
		{"DELETE /v1/orgs/{org}/role-bindings/{id}", "roles.manage", 204, func(w *world) call {
			b, err := w.svc.CreateRoleBinding(w.ctx, w.owner, "acme", service.NewBinding{UserID: w.addMember(rbac.Viewer), Role: rbac.Member})
			if err != nil {
				w.t.Fatal(err)
			}
			return call{"DELETE", o + "/role-bindings/" + b.ID.String(), ""}
		}},

		{"GET /v1/orgs/{org}/projects", "projects.read", 200, get("/projects")},
		{"POST /v1/orgs/{org}/projects", "projects.create", 201, func(w *world) call {
			return call{"POST", o + "/projects", fmt.Sprintf(`{"name":"project-%d","description":"d"}`, w.next())}
		}},
		{"GET /v1/orgs/{org}/projects/{id}", "projects.read", 200, func(w *world) call { return call{"GET", o + "/projects/" + w.project().String(), ""} }},
		{"PATCH /v1/orgs/{org}/projects/{id}", "projects.update", 200, func(w *world) call {
			return call{"PATCH", o + "/projects/" + w.project().String(), `{"description":"changed"}`}
		}},
		{"DELETE /v1/orgs/{org}/projects/{id}", "projects.delete", 204, func(w *world) call { return call{"DELETE", o + "/projects/" + w.project().String(), ""} }},
		{"GET /v1/orgs/{org}/projects/{project_id}/environments", "projects.read", 200, func(w *world) call { return call{"GET", w.environment(false), ""} }},
		{"POST /v1/orgs/{org}/projects/{project_id}/environments", "projects.update", 201, func(w *world) call {
			return call{"POST", w.environment(false), `{"name":"production"}`}
		}},
		{"GET /v1/orgs/{org}/projects/{project_id}/environments/{environment_id}", "projects.read", 200, func(w *world) call { return call{"GET", w.environment(true), ""} }},
		{"PATCH /v1/orgs/{org}/projects/{project_id}/environments/{environment_id}", "projects.update", 200, func(w *world) call {
			return call{"PATCH", w.environment(true), `{"description":"changed"}`}
		}},
		{"DELETE /v1/orgs/{org}/projects/{project_id}/environments/{environment_id}", "projects.update", 204, func(w *world) call { return call{"DELETE", w.environment(true), ""} }},

		{"GET /v1/orgs/{org}/api-keys", "apikeys.manage", 200, get("/api-keys")},
		{"POST /v1/orgs/{org}/api-keys", "apikeys.manage", 201, func(w *world) call { return call{"POST", o + "/api-keys", `{"name":"ci"}`} }},
		{"DELETE /v1/orgs/{org}/api-keys/{id}", "apikeys.manage", 204, func(w *world) call { return call{"DELETE", o + "/api-keys/" + w.viewerAPIKey().String(), ""} }},

		{"GET /v1/orgs/{org}/access-check", "members.read", 200, func(w *world) call {
			return call{"GET", o + "/access-check?permission=projects.update&user_id=" + w.owner.UserID.String(), ""}
		}},

		{"GET /v1/orgs/{org}/audit-events", "audit.read", 200, get("/audit-events")},
		{"GET /v1/orgs/{org}/audit-events/verify", "audit.read", 200, get("/audit-events/verify")},
		{"GET /v1/orgs/{org}/audit-events/export", "audit.read", 200, get("/audit-events/export?format=csv")},
	}
}

// customRole creates a custom role as the owner and returns its name.
func (w *world) customRole() string {
	w.t.Helper()
	name := fmt.Sprintf("custom-%d", w.next())
	if _, err := w.svc.CreateRole(w.ctx, w.owner, "acme", name, []string{"projects.read"}); err != nil {
		w.t.Fatal(err)
	}
	return name
}

// project creates a project as the owner.
func (w *world) project() uuid.UUID {
	w.t.Helper()
	p, err := w.svc.CreateProject(w.ctx, w.owner, "acme", repo.NewProject{Name: fmt.Sprintf("fixture-%d", w.next())})
	if err != nil {
		w.t.Fatal(err)
	}
	return p.ID
}

// environment creates a project as the owner and returns the path of its
// environments or, when one, of an environment it creates in it.
func (w *world) environment(one bool) string {
	w.t.Helper()
	project := w.project()
	path := "/v1/orgs/acme/projects/" + project.String() + "/environments"
	if !one {
		return path
	}
	e, err := w.svc.CreateEnvironment(w.ctx, w.owner, "acme", project, repo.NewEnvironment{Name: "staging"})
	if err != nil {
		w.t.Fatal(err)
	}
	return path + "/" + e.ID.String()
}

// viewerAPIKey creates an API key of a new viewer's: a key everyone with
// apikeys.manage may revoke (revoking a key of someone who holds more than
// the caller is refused: see TestEscalationIsRefused).
func (w *world) viewerAPIKey() uuid.UUID {
	w.t.Helper()
	viewer := w.addMember(rbac.Viewer)
	k, err := w.svc.CreateAPIKey(w.ctx, w.owner, "acme", service.NewAPIKey{Name: "fixture", UserID: viewer})
	if err != nil {
		w.t.Fatal(err)
	}
	return k.ID
}

// TestAuthorizationMatrix calls every endpoint as every built-in role. An
// allowed call answers its success status and, for a mutation, leaves
// exactly one success event (a read leaves none); a forbidden one answers
// 403 and leaves exactly one denied event naming the caller.
func TestAuthorizationMatrix(t *testing.T) {
	w := newWorld(t)
	parent := t
	keys := map[string]string{rbac.Owner: w.ownerKey}
	users := map[string]uuid.UUID{rbac.Owner: w.owner.UserID}
	for _, role := range []string{rbac.Admin, rbac.Member, rbac.Viewer} {
		m := w.must(201, w.ownerKey, "POST", "/v1/orgs/acme/members", `{"email":"`+role+`@acme.test","name":"`+role+`","role":"`+role+`"}`).json(t)
		users[role] = uuid.MustParse(m["user_id"].(string))
		keys[role] = w.keyFor(w.org.ID, users[role])
	}

	for _, e := range endpoints() {
		for _, role := range []string{rbac.Owner, rbac.Admin, rbac.Member, rbac.Viewer} {
			t.Run(role+" "+e.route, func(t *testing.T) {
				w.t = t
				defer func() { w.t = parent }()
				c := e.prepare(w)
				if !strings.HasPrefix(e.route, c.method+" ") {
					t.Fatalf("prepared %s %s", c.method, c.path)
				}
				before := w.head(w.org.ID)
				a := w.call(keys[role], c.method, c.path, c.body)
				events := w.eventsSince(w.org.ID, before)

				want := http.StatusForbidden
				if holds(role, e.perm) {
					want = e.status
				}
				if a.status != want {
					t.Fatalf("status %d, want %d (%s): %s", a.status, want, e.perm, a.body)
				}
				switch {
				case want == http.StatusForbidden:
					if len(events) != 1 || events[0].Outcome != repo.OutcomeDenied || events[0].ActorID != users[role].String() ||
						!strings.Contains(events[0].Metadata, e.perm) {
						t.Errorf("denied, with events %+v; want one denied event", events)
					}
				case c.method != http.MethodGet:
					if len(events) != 1 || events[0].Outcome != repo.OutcomeSuccess || events[0].ActorID != users[role].String() {
						t.Errorf("succeeded, with events %+v; want one success event", events)
					}
				default:
					if len(events) != 0 {
						t.Errorf("a read left events %+v", events)
					}
				}
			})
		}
	}

	report, err := w.svc.VerifyAudit(w.ctx, w.owner, "acme")
	if err != nil || !report.OK {
		t.Errorf("the chain after the matrix: %v %v", report, err)
	}
}

// TestMatrixCoversEveryRoute holds the matrix to the routes New registers.
func TestMatrixCoversEveryRoute(t *testing.T) {
	var covered, v1 []string
	for _, e := range endpoints() {
		covered = append(covered, e.route)
	}
	for _, r := range httpapi.Routes() {
		if strings.Contains(r, " /v1/") {
			v1 = append(v1, r)
		}
	}
	slices.Sort(covered)
	slices.Sort(v1)
	if !slices.Equal(covered, v1) {
		t.Errorf("the matrix covers\n%v\nthe /v1 routes are\n%v", covered, v1)
	}
}

// TestCrossOrgIsNotFound calls every org A route with a key of org B: all
// are 404, and nothing is written to A's trail. B's key on B's own routes
// with A's resource IDs is 404 as well.
func TestCrossOrgIsNotFound(t *testing.T) {
	w := newWorld(t)
	_, bKey, err := w.svc.Bootstrap(w.ctx, service.BootstrapInput{OrgSlug: "globex", Email: "boss@globex.test"}, service.Request{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range endpoints() {
		c := e.prepare(w)
		before := w.head(w.org.ID)
		a := w.call(bKey.Secret, c.method, c.path, c.body)
		if a.status != http.StatusNotFound {
			t.Errorf("org B: %s %s: status %d, want 404: %s", c.method, c.path, a.status, a.body)
		}
		if evs := w.eventsSince(w.org.ID, before); len(evs) != 0 {
			t.Errorf("org B: %s %s left events in org A: %+v", c.method, c.path, evs)
		}
	}

	const b = "/v1/orgs/globex"
	for _, c := range []call{
		{"GET", b + "/projects/" + w.project().String(), ""},
		{"PATCH", b + "/projects/" + w.project().String(), `{"name":"stolen"}`},
		{"DELETE", b + "/projects/" + w.project().String(), ""},
		{"DELETE", b + "/members/" + w.addMember(rbac.Viewer).String(), ""},
		{"PUT", b + "/roles/" + w.customRole(), `{"permissions":["projects.read"]}`},
		{"DELETE", b + "/roles/" + w.customRole(), ""},
		{"DELETE", b + "/api-keys/" + w.viewerAPIKey().String(), ""},
		{"DELETE", b + "/role-bindings/" + w.bindingOf(w.owner.UserID).String(), ""},
	} {
		if a := w.call(bKey.Secret, c.method, c.path, c.body); a.status != http.StatusNotFound {
			t.Errorf("org B: %s %s: status %d, want 404: %s", c.method, c.path, a.status, a.body)
		}
	}
	// And org A's things are intact: A's owner still gets in.
	w.must(200, w.ownerKey, "GET", "/v1/orgs/acme", "")
}

// bindingOf returns a role binding of the user in org acme.
func (w *world) bindingOf(userID uuid.UUID) uuid.UUID {
	w.t.Helper()
	page, err := w.db.RoleBindings().List(w.ctx, w.org.ID, repo.PageRequest{Limit: repo.MaxPageSize})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, b := range page.Items {
		if b.UserID == userID {
			return b.ID
		}
	}
	w.t.Fatalf("no binding of %s", userID)
	return uuid.Nil
}

// TestEscalationIsRefused has an admin try to grant what it does not hold
// (the owner role, a "*" role) or act on someone who holds more (remove the
// owner, unbind them, mint or revoke their keys): each is a 403 that leaves
// exactly one denied audit event and changes nothing else.
func TestEscalationIsRefused(t *testing.T) {
	w := newWorld(t)
	admin := w.addMember(rbac.Admin)
	key := w.keyFor(w.org.ID, admin)
	for _, c := range []call{
		{"POST", "/v1/orgs/acme/members", `{"email":"crony@acme.test","role":"owner"}`},
		{"POST", "/v1/orgs/acme/role-bindings", `{"user_id":"` + admin.String() + `","role":"owner"}`},
		{"POST", "/v1/orgs/acme/roles", `{"name":"godlike","permissions":["*"]}`},
		{"DELETE", "/v1/orgs/acme/role-bindings/" + w.bindingOf(w.owner.UserID).String(), ""},
		{"DELETE", "/v1/orgs/acme/members/" + w.owner.UserID.String(), ""},
		{"POST", "/v1/orgs/acme/api-keys", `{"name":"stolen","user_id":"` + w.owner.UserID.String() + `"}`},
		{"DELETE", "/v1/orgs/acme/api-keys/" + w.owner.KeyID.String(), ""},
	} {
		before := w.head(w.org.ID)
		if a := w.call(key, c.method, c.path, c.body); a.status != http.StatusForbidden {
			t.Errorf("%s %s %s: status %d, want 403: %s", c.method, c.path, c.body, a.status, a.body)
		}
		if evs := w.eventsSince(w.org.ID, before); len(evs) != 1 || evs[0].Outcome != repo.OutcomeDenied {
			t.Errorf("%s %s: events %+v, want one denied event", c.method, c.path, evs)
		}
	}
	// The owner is untouched: still a member, and their key still works.
	if a := w.call(w.ownerKey, "GET", "/v1/orgs/acme", ""); a.status != http.StatusOK {
		t.Errorf("owner after the attempts: status %d, want 200", a.status)
	}
}
