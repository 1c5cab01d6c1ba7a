package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
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
// (prepared as the owner).
type endpoint struct {
	route   string // the pattern it exercises
	perm    string
	status  int
	prepare func(w *world) call
}

// endpoints covers every /v1 route, each read from its declaration
// (httpapi.Ops, what the OpenAPI document is made of): the permission is the
// first word of what the document says the route needs, the success status
// the one the document gives, and the request is made by (*world).request.
// A new entity's routes need nothing here.
func endpoints(t *testing.T) []endpoint {
	t.Helper()
	ops := map[string]httpapi.Op{}
	for _, o := range httpapi.Ops() {
		ops[o.Route] = o
	}
	var out []endpoint
	for _, o := range httpapi.Ops() {
		if !strings.Contains(o.Route, " /v1/") {
			continue
		}
		perm, _, _ := strings.Cut(o.Needs, " ")
		if !rbac.Known(perm) {
			t.Errorf("%s: needs %q, not a known permission", o.Route, o.Needs)
		}
		out = append(out, endpoint{o.Route, perm, o.Status, func(w *world) call { return w.request(ops, o) }})
	}
	return out
}

// fixtures are the values a route's declaration cannot make, by route, then
// by the name of a path parameter, a required query parameter or a field of
// the body's example. A route's fixtures also serve the POST that makes one
// of its things for a route below it.
var fixtures = map[string]func(w *world) map[string]string{
	// A binding is given to a member; the example's user_id names no one.
	// (The binding DELETE removes is made by this POST too.)
	"POST /v1/orgs/{org}/role-bindings": func(w *world) map[string]string {
		return map[string]string{"user_id": w.addMember(rbac.Viewer).String()}
	},
	// A POST would make a key of the owner's, which an admin may not revoke
	// (TestEscalationIsRefused): revoke a viewer's.
	"DELETE /v1/orgs/{org}/api-keys/{id}": func(w *world) map[string]string {
		return map[string]string{"id": w.viewerAPIKey().String()}
	},
	// The member asked about must be one; the example's user_id names no one.
	"GET /v1/orgs/{org}/access-check": func(w *world) map[string]string {
		return map[string]string{"user_id": w.owner.UserID.String()}
	},
}

// request makes a call of route o on things that exist. It fills the path
// from the left: {org} is acme, a fixture's value is taken as is, and any
// other {p} is made by POSTing, as the owner, the collection before it (its
// path so far) with that POST's example body, and taking p from the answer,
// or its id when it has no p. Required query parameters take their
// examples, and the body is o's example; fixtures replace either.
func (w *world) request(ops map[string]httpapi.Op, o httpapi.Op) call {
	w.t.Helper()
	fixed := w.fixtures(o.Route)
	method, pattern, _ := strings.Cut(o.Route, " ")
	var collection, path string // the pattern so far, and the path that fills it
	for _, seg := range strings.Split(pattern, "/")[1:] {
		value := seg
		if name, isParam := strings.CutPrefix(seg, "{"); isParam {
			name = strings.TrimSuffix(name, "}")
			v, ok := fixed[name]
			switch {
			case name == "org":
				v = "acme"
			case ok:
				delete(fixed, name)
			default:
				v = w.create(ops, collection, path, name)
			}
			value = url.PathEscape(v)
		}
		collection += "/" + seg
		path += "/" + value
	}
	query := url.Values{}
	for name, example := range o.Query {
		value, ok := fixed[name]
		if !ok {
			value = example
		}
		delete(fixed, name)
		if value == "" {
			w.t.Fatalf("%s: required query parameter %s has no Example in its declaration", o.Route, name)
		}
		query.Set(name, value)
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	body := w.body(o, fixed)
	if len(fixed) > 0 {
		w.t.Fatalf("%s: fixtures %v name nothing in the route", o.Route, fixed)
	}
	return call{method, path, body}
}

// fixtures returns the fixture values of route, made now.
func (w *world) fixtures(route string) map[string]string {
	if f := fixtures[route]; f != nil {
		return f(w)
	}
	return map[string]string{}
}

// create makes a thing in the collection (its pattern, and the path that
// fills it) as the owner, with its POST's example, and returns the answer's
// name, or its id.
func (w *world) create(ops map[string]httpapi.Op, collection, path, name string) string {
	w.t.Helper()
	route := "POST " + collection
	o, ok := ops[route]
	if !ok {
		w.t.Fatalf("no route %s to make {%s} with", route, name)
	}
	fixed := w.fixtures(route)
	body := w.body(o, fixed)
	if len(fixed) > 0 {
		w.t.Fatalf("%s: fixtures %v name no field of its body", route, fixed)
	}
	m := w.must(201, w.ownerKey, "POST", path, body).json(w.t)
	for _, key := range []string{name, "id"} {
		if v, ok := m[key].(string); ok {
			return v
		}
	}
	w.t.Fatalf("%s answered %v: no %s, no id", route, m, name)
	return ""
}

// body is o's example body with the fixtures of its fields (which it takes
// out of fixed) and, so that four calls of a route do not collide on a
// natural key, a "name" and an "email" made unique: "-N" (w.next) added to
// the name, before the @ of the email.
func (w *world) body(o httpapi.Op, fixed map[string]string) string {
	w.t.Helper()
	if o.Body == "" {
		return ""
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(o.Body), &fields); err != nil {
		w.t.Fatalf("%s: example %s: %v", o.Route, o.Body, err)
	}
	if name, ok := fields["name"].(string); ok {
		fields["name"] = fmt.Sprintf("%s-%d", name, w.next())
	}
	if email, ok := fields["email"].(string); ok {
		local, domain, _ := strings.Cut(email, "@")
		fields["email"] = fmt.Sprintf("%s-%d@%s", local, w.next(), domain)
	}
	for name, value := range fixed {
		if _, ok := fields[name]; ok {
			fields[name] = value
			delete(fixed, name)
		}
	}
	b, err := json.Marshal(fields)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
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

// TestAuthorizationMatrix calls every /v1 route (endpoints, read from the
// routes' declarations) as every built-in role (rolePerms). An allowed call
// answers its success status and, for a mutation, leaves exactly one
// success event (a read leaves none); a forbidden one answers 403 and leaves
// exactly one denied event naming the caller and the permission.
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

	for _, e := range endpoints(t) {
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

// TestMatrixFixturesNameRoutes holds the matrix's fixtures to the routes
// New registers: one left behind by a renamed route would go unused.
func TestMatrixFixturesNameRoutes(t *testing.T) {
	routes := httpapi.Routes()
	for route := range fixtures {
		if !slices.Contains(routes, route) {
			t.Errorf("fixtures of %s: no such route", route)
		}
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
	for _, e := range endpoints(t) {
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
