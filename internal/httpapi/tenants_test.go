package httpapi_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// TestHostileTenants is a property test (pgregory.net/rapid): random
// sequences of API calls, by the keys of the members of two orgs holding
// every kind of role (owner, admin, member, viewer, custom roles bound
// org-wide or on one project), some aimed at the other org's slug or its
// IDs, some with revoked, expired, removed or suspended users' keys, against
// the real API over SQLite. After every call:
//
//   - the status is what an independent model of the RBAC rules predicts
//     (type hostile: the rules of docs/api.md written out, refusals decided
//     in the order service/*.go decides them: input, org, permission, then
//     escalation, existence, last owner and conflicts);
//   - the answer shows no string of the other org or of the bystander org
//     acme (IDs, names, emails, keys), except those the caller's org sent
//     itself, which an answer may echo, and the global profile of a user
//     it added by email (see TestAddingAKnownUserShowsNothingOfOtherOrgs);
//   - a call naming the other org's IDs or slug gets the answer the same
//     call naming random ones gets: existence does not leak;
//   - lists hold exactly what the model holds, and access checks answer
//     what the model decides.
//
// At the end of each check both orgs' audit chains verify. Each check is
// a fresh pair of orgs, a setup of about 25 calls, then about 45 random
// ones; 30 checks by default (a few seconds), more with -rapid.checks=N or
// RAPID_CHECKS=N (make soak).
func TestHostileTenants(t *testing.T) {
	setRapidDefault("rapid.checks", "RAPID_CHECKS", "30")
	setRapidDefault("rapid.steps", "RAPID_STEPS", "45")
	clock := newFakeClock()
	w := newWorldWith(t, worldOptions{now: clock.Now})
	bystander := []string{w.org.ID.String(), w.owner.UserID.String(), "owner@acme.test", w.ownerKey[len(w.ownerKey)-43:]}
	checks, seen := 0, map[string]int{}
	rapid.Check(t, func(rt *rapid.T) {
		checks++
		h := newHostile(rt, w, clock, checks, bystander)
		h.seen = seen
		h.setup()
		rt.Repeat(h.actions())
		for _, o := range h.orgs {
			if r, err := audit.Verify(w.ctx, w.db.AuditEvents(), o.id, audit.VerifyOptions{}); err != nil || !r.OK {
				rt.Fatalf("the audit chain of %s: %+v, %v", o.slug, r, err)
			}
		}
	})
	t.Logf("%d checks; answers by method and status: %v", checks, seen)
}

// setRapidDefault sets a rapid flag's default for this package's tests,
// unless the command line or the environment chose a value.
func setRapidDefault(name, env, value string) {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if _, ok := os.LookupEnv(env); !set && !ok {
		flag.Set(name, value)
	}
}

// The permissions and which of them a project binding can grant, written
// out here rather than read from rbac, so the test checks them.
var (
	allPerms = []string{"org.read", "org.update", "org.delete", "members.read", "members.manage", "roles.read",
		"roles.manage", "projects.read", "projects.create", "projects.update", "projects.delete", "apikeys.manage", "audit.read"}
	projectScoped = []string{"projects.read", "projects.update", "projects.delete"}
	grantable     = append(slices.Clone(allPerms), "projects.*", "org.*", "members.*", "roles.*", "apikeys.*", "audit.*", "*")
)

// matches is the wildcard rule: a grant covers a permission it equals, "*"
// covers all, "res.*" covers "res.verb" and the wildcard "res.*" itself.
func matches(grant, perm string) bool {
	if grant == perm || grant == "*" {
		return true
	}
	res, ok := strings.CutSuffix(grant, ".*")
	return ok && strings.HasPrefix(perm, res+".") && !strings.Contains(perm[len(res)+1:], ".")
}

func isWildcard(p string) bool { return strings.HasSuffix(p, "*") }

// strictRoleEdits is docs/api.md's rule for editing a role ("only if you hold
// every permission involved"), covering the permissions an edit takes away
// as well as those it gives, as unbinding the role would: see
// TestRoleEditTakesAway.
const strictRoleEdits = true

// Model state.

type hUser struct {
	id        uuid.UUID
	email     string
	name      string
	suspended bool
}

type hKey struct {
	id      uuid.UUID
	secret  string // the whole key
	org     *hOrg
	user    uuid.UUID
	expires *time.Time
	revoked bool
	deleted bool // the member was removed: the key is gone
}

type hBinding struct {
	id      uuid.UUID
	user    uuid.UUID
	role    string
	project *uuid.UUID
}

type hOrg struct {
	slug, name, tag string
	id              uuid.UUID
	members         map[uuid.UUID]bool
	roles           map[string][]string // by name, built-in ones included
	roleIDs         map[string]uuid.UUID
	bindings        map[uuid.UUID]*hBinding
	projects        map[uuid.UUID]string // names by ID
	// own holds the strings that are the org's: IDs, names, emails of its
	// members (ever), key secrets. mentioned holds other orgs' strings the
	// org's callers sent it, which its answers may echo.
	own, mentioned map[string]bool
}

func (o *hOrg) bindingsOf(user uuid.UUID) []*hBinding {
	var out []*hBinding
	for _, b := range o.bindings {
		if b.user == user {
			out = append(out, b)
		}
	}
	return out
}

// hostile is one check: the model, and the means to call the API and
// compare.
type hostile struct {
	rt        *rapid.T
	w         *world
	clock     *fakeClock
	n         int
	orgs      []*hOrg
	users     map[uuid.UUID]*hUser
	keys      []*hKey
	bystander []string       // strings of org acme, which no call here may show
	seen      map[string]int // answers by method and status, for the log
}

func newHostile(rt *rapid.T, w *world, clock *fakeClock, check int, bystander []string) *hostile {
	return &hostile{rt: rt, w: w, clock: clock, n: check * 1000, users: map[uuid.UUID]*hUser{}, bystander: bystander}
}

func (h *hostile) next() int { h.n++; return h.n }

// setup bootstraps two orgs and, as each owner through the API, adds a
// project, two custom roles, an admin, a member, a viewer and a holder of
// each custom role (one manages projects, the other binds roles and adds
// members without holding much), and a key for each member.
func (h *hostile) setup() {
	for _, letter := range []string{"x", "y"} {
		tag := fmt.Sprintf("k%05d%s", h.n/1000, letter)
		email := "owner." + tag + "@example.test"
		o, key, err := h.w.svc.Bootstrap(h.w.ctx, service.BootstrapInput{OrgSlug: tag, OrgName: "Org " + tag, Email: email, Name: "Owner " + tag}, service.Request{})
		if err != nil {
			h.rt.Fatalf("bootstrap %s: %v", tag, err)
		}
		org := &hOrg{slug: tag, name: o.Name, tag: tag, id: o.ID, members: map[uuid.UUID]bool{}, roles: map[string][]string{},
			roleIDs: map[string]uuid.UUID{}, bindings: map[uuid.UUID]*hBinding{}, projects: map[uuid.UUID]string{},
			own: map[string]bool{o.ID.String(): true, o.Name: true}, mentioned: map[string]bool{}}
		for name, perms := range rolePerms {
			org.roles[name] = perms
		}
		h.orgs = append(h.orgs, org)
		p, err := h.w.svc.Authenticate(h.w.ctx, key.Secret, service.Request{})
		if err != nil {
			h.rt.Fatal(err)
		}
		owner := &hUser{id: p.UserID, email: email, name: "Owner " + tag}
		h.users[owner.id] = owner
		h.join(org, owner)
		bs, _ := h.w.db.RoleBindings().List(h.w.ctx, o.ID, repo.PageRequest{})
		org.bindings[bs.Items[0].ID] = &hBinding{id: bs.Items[0].ID, user: owner.id, role: rbac.Owner}
		org.own[bs.Items[0].ID.String()] = true
		h.addKey(&hKey{id: key.ID, secret: key.Secret, org: org, user: owner.id})

		ownerKey := h.keys[len(h.keys)-1]
		h.do(ownerKey, h.listRoles(org))
		h.do(ownerKey, h.createProject(org))
		releaser, binder := h.roleName(org), h.roleName(org)
		h.do(ownerKey, h.createRole(org, releaser, []string{"projects.*", "members.read"}))
		h.do(ownerKey, h.createRole(org, binder, []string{"roles.manage", "roles.read", "projects.read", "members.manage"}))
		for _, role := range []string{rbac.Admin, rbac.Member, rbac.Viewer, releaser, binder} {
			u := h.newUser(org)
			h.do(ownerKey, h.addMember(org, u.email, u.name, role))
			h.do(ownerKey, h.createKey(org, h.userByEmail(u.email).id, nil))
		}
	}
}

// actions are the calls a check draws from; "" checks the invariants
// between them.
func (h *hostile) actions() map[string]func(*rapid.T) {
	call := func(build func(*rapid.T, *hKey, *hOrg) hCall) func(*rapid.T) {
		return func(rt *rapid.T) {
			h.rt = rt
			k := h.drawKey()
			h.do(k, build(rt, k, h.drawOrg(k)))
		}
	}
	return map[string]func(*rapid.T){
		"getOrg":       call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.getOrg(o) }),
		"updateOrg":    call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.updateOrg(o) }),
		"listMembers":  call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.listMembers(o) }),
		"addMember":    call(h.drawAddMember),
		"removeMember": call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall { return h.removeMember(o, h.drawUser(rt)) }),
		"listRoles":    call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.listRoles(o) }),
		"createRole": call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall {
			return h.createRole(o, h.drawNewRole(rt, o), h.drawPerms(rt))
		}),
		"updateRole":      call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall { return h.updateRole(o, h.drawRole(rt), h.drawPerms(rt)) }),
		"deleteRole":      call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall { return h.deleteRole(o, h.drawRole(rt)) }),
		"listBindings":    call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.listBindings(o) }),
		"createBinding":   call(h.drawCreateBinding),
		"deleteBinding":   call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall { return h.deleteBinding(o, h.drawBinding(rt)) }),
		"listProjects":    call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.listProjects(o) }),
		"createProject":   call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.createProject(o) }),
		"getProject":      call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall { return h.getProject(o, h.drawProject(rt)) }),
		"updateProject":   call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall { return h.updateProject(o, h.drawProject(rt)) }),
		"deleteProject":   call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall { return h.deleteProject(o, h.drawProject(rt)) }),
		"listKeys":        call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.listKeys(o) }),
		"createKey":       call(h.drawCreateKey),
		"revokeKey":       call(func(rt *rapid.T, _ *hKey, o *hOrg) hCall { return h.revokeKey(o, h.drawKeyID(rt)) }),
		"checkAccess":     call(h.drawCheckAccess),
		"listAudit":       call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.listAudit(o) }),
		"verifyAudit":     call(func(_ *rapid.T, _ *hKey, o *hOrg) hCall { return h.verifyAudit(o) }),
		"suspendOrResume": func(rt *rapid.T) { h.rt = rt; h.suspend(h.drawUser(rt)) },
		"advanceClock": func(rt *rapid.T) {
			h.clock.Advance(time.Duration(rapid.IntRange(0, 120).Draw(rt, "minutes")) * time.Minute)
		},
		"": func(rt *rapid.T) {},
	}
}

// Drawing actors and targets.

// drawKey picks a key to call with: mostly a working one, sometimes one
// that no longer works, sometimes garbage.
func (h *hostile) drawKey() *hKey {
	switch rapid.IntRange(0, 19).Draw(h.rt, "keyKind") {
	case 0:
		return &hKey{secret: "strata_" + strings.Repeat("0", 32) + "_" + strings.Repeat("A", 43)} // garbage
	case 1, 2:
		return rapid.SampledFrom(h.keys).Draw(h.rt, "anyKey")
	}
	var live []*hKey
	for _, k := range h.keys {
		if h.live(k) {
			live = append(live, k)
		}
	}
	if len(live) == 0 {
		return rapid.SampledFrom(h.keys).Draw(h.rt, "anyKey")
	}
	return rapid.SampledFrom(live).Draw(h.rt, "liveKey")
}

// drawOrg picks the org a call names: the key's own mostly, else the other
// or one that does not exist.
func (h *hostile) drawOrg(k *hKey) *hOrg {
	switch rapid.IntRange(0, 9).Draw(h.rt, "orgKind") {
	case 0:
		return nil // a slug no org has
	case 1:
		return rapid.SampledFrom(h.orgs).Draw(h.rt, "anyOrg")
	}
	if k.org == nil {
		return h.orgs[0]
	}
	return k.org
}

// drawID picks from ids (any org's), or a random ID.
func drawID(rt *rapid.T, label string, ids []uuid.UUID) uuid.UUID {
	if len(ids) == 0 || rapid.IntRange(0, 7).Draw(rt, label+"Random") == 0 {
		return uuid.New()
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	return rapid.SampledFrom(ids).Draw(rt, label)
}

func (h *hostile) drawUser(rt *rapid.T) uuid.UUID {
	return drawID(rt, "user", slices.Collect(maps.Keys(h.users)))
}

func (h *hostile) drawProject(rt *rapid.T) uuid.UUID {
	var ids []uuid.UUID
	for _, o := range h.orgs {
		ids = slices.AppendSeq(ids, maps.Keys(o.projects))
	}
	return drawID(rt, "project", ids)
}

func (h *hostile) drawBinding(rt *rapid.T) uuid.UUID {
	var ids []uuid.UUID
	for _, o := range h.orgs {
		ids = slices.AppendSeq(ids, maps.Keys(o.bindings))
	}
	return drawID(rt, "binding", ids)
}

func (h *hostile) drawKeyID(rt *rapid.T) uuid.UUID {
	var ids []uuid.UUID
	for _, k := range h.keys {
		ids = append(ids, k.id)
	}
	return drawID(rt, "keyID", ids)
}

// drawRole picks a role name: any org's, built-in or custom, or unknown.
func (h *hostile) drawRole(rt *rapid.T) string {
	names := []string{"no-such-role"}
	for _, o := range h.orgs {
		names = slices.AppendSeq(names, maps.Keys(o.roles))
	}
	slices.Sort(names)
	return rapid.SampledFrom(slices.Compact(names)).Draw(rt, "role")
}

// drawPerms picks a role's permissions: one to three grants, wildcards
// included, rarely an unknown one.
func (h *hostile) drawPerms(rt *rapid.T) []string {
	pool := append(slices.Clone(grantable), "rockets.launch")
	perms := rapid.SliceOfNDistinct(rapid.SampledFrom(pool), 1, 3, rapid.ID[string]).Draw(rt, "perms")
	slices.Sort(perms)
	return perms
}

// A call, what the model expects of it, and what it changes on success.

type hCall struct {
	method, path, body string
	// pre returns the refusal, if any, decided before the org is looked
	// up (the handler's and the service's input checks: a 400), else 0.
	pre func() int
	// perm is the permission the call needs, on project on if not nil.
	perm string
	on   *uuid.UUID
	// expect returns the status after authorization; nil means 200.
	expect func(k *hKey, o *hOrg) int
	// apply checks a successful answer against the model and updates it.
	apply func(k *hKey, o *hOrg, body []byte)
}

// do sends c with k and checks the status against the model; on success it
// checks the answer against the model and updates it. Then it checks the
// answer for leaks and, when c names another org's IDs or slug, that the
// same call naming random ones is answered alike.
func (h *hostile) do(k *hKey, c hCall) {
	h.rt.Helper()
	want := h.predict(k, c)
	foreign := h.noteForeign(k, c)
	a := h.w.call(k.secret, c.method, c.path, c.body)
	label := fmt.Sprintf("%s %s %s as %s", c.method, c.path, c.body, h.describe(k))
	if a.status != want {
		h.rt.Fatalf("%s: status %d, the model says %d: %s", label, a.status, want, a.body)
	}
	h.seen[fmt.Sprint(c.method, " ", a.status)]++
	if a.status < 300 && c.apply != nil {
		c.apply(k, k.org, a.body)
	}
	h.noLeak(k, label, a.body)
	if len(foreign) > 0 && (a.status >= 400 || c.method == "GET") {
		h.sameAsRandom(k, c, foreign, a, label)
	}
}

// predict is the model's status for c sent with k.
func (h *hostile) predict(k *hKey, c hCall) int {
	switch {
	case !h.live(k):
		return 401
	case c.pre != nil && c.pre() != 0:
		return c.pre()
	case slugOf(c.path) != k.org.slug:
		return 404
	case c.perm != "" && !h.allowed(k.org, k.user, c.perm, c.on):
		return 403
	case c.expect == nil:
		return 200
	}
	return c.expect(k, k.org)
}

// noteForeign returns the IDs and the slug of other orgs that c names, and
// records every string of other orgs c sends as mentioned to k's org: its
// answers may echo them.
func (h *hostile) noteForeign(k *hKey, c hCall) []string {
	var foreign []string
	sent := c.path + " " + c.body
	for _, o := range h.orgs {
		if o == k.org {
			continue
		}
		if slugOf(c.path) == o.slug {
			foreign = append(foreign, "/v1/orgs/"+o.slug)
		}
		for x := range o.own {
			if !strings.Contains(sent, x) || k.org == nil || k.org.own[x] {
				continue
			}
			k.org.mentioned[x] = true
			if uuid.Validate(x) == nil {
				foreign = append(foreign, x)
			}
		}
	}
	slices.Sort(foreign)
	return foreign
}

func slugOf(path string) string {
	slug, _, _ := strings.Cut(strings.TrimPrefix(path, "/v1/orgs/"), "/")
	slug, _, _ = strings.Cut(slug, "?")
	return slug
}

func (h *hostile) orgOf(o *hOrg) string {
	if o == nil {
		return "nowhere-org"
	}
	return o.slug
}

func (h *hostile) describe(k *hKey) string {
	if k.org == nil {
		return "a garbage key"
	}
	var roles []string
	for _, b := range k.org.bindingsOf(k.user) {
		r := b.role
		if b.project != nil {
			r += "@" + b.project.String()[:8]
		}
		roles = append(roles, r)
	}
	state := ""
	if !h.live(k) {
		state = " (key not working)"
	}
	return fmt.Sprintf("user %s of %s %v%s", k.user.String()[:8], k.org.slug, roles, state)
}

// noLeak fails the check if body shows a string of another org (or of the
// bystander org acme) that k's org neither owns nor was sent by its callers.
func (h *hostile) noLeak(k *hKey, label string, body []byte) {
	h.rt.Helper()
	s := string(body)
	for _, x := range h.bystander {
		if strings.Contains(s, x) {
			h.rt.Fatalf("%s: the answer shows %q of org acme: %s", label, x, body)
		}
	}
	for _, o := range h.orgs {
		if o == k.org {
			continue
		}
		for x := range o.own {
			if strings.Contains(s, x) && (k.org == nil || !k.org.own[x] && !k.org.mentioned[x]) {
				h.rt.Fatalf("%s: the answer shows %q of org %s: %s", label, x, o.slug, body)
			}
		}
	}
}

var anyUUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// sameAsRandom sends c again with each of the other org's IDs it names
// replaced by a random one, and its slug by one no org has: the answer
// must be the same, IDs aside.
func (h *hostile) sameAsRandom(k *hKey, c hCall, foreign []string, a answer, label string) {
	h.rt.Helper()
	path, body := c.path, c.body
	for _, f := range foreign {
		r := uuid.NewString()
		if strings.HasPrefix(f, "/") {
			r = "/v1/orgs/nowhere-org"
		}
		path, body = strings.ReplaceAll(path, f, r), strings.ReplaceAll(body, f, r)
	}
	b := h.w.call(k.secret, c.method, path, body)
	if b.status != a.status || anyUUID.ReplaceAllString(string(b.body), "<id>") != anyUUID.ReplaceAllString(string(a.body), "<id>") {
		h.rt.Fatalf("%s: %d %s\nbut with random IDs in place of the other org's: %d %s", label, a.status, a.body, b.status, b.body)
	}
}

func (h *hostile) drawAddMember(rt *rapid.T, _ *hKey, o *hOrg) hCall {
	var email, name string
	switch rapid.IntRange(0, 5).Draw(rt, "memberKind") {
	case 0: // someone already known: of this org, of the other, or both
		u := h.users[h.drawUser(rt)]
		if u == nil {
			u = h.newUser(o)
		}
		email, name = strings.ToUpper(u.email[:1])+u.email[1:], "Renamed" // emails ignore case
	case 1:
		email, name = "not an email", "x"
	default:
		u := h.newUser(o)
		email, name = u.email, u.name
	}
	roles := []string{"", rbac.Owner, rbac.Admin, rbac.Member, rbac.Viewer, h.drawRole(rt)}
	return h.addMember(o, email, name, rapid.SampledFrom(roles).Draw(rt, "memberRole"))
}

// drawNewRole names a role to create: mostly a fresh name, sometimes one
// taken here or in the other org.
func (h *hostile) drawNewRole(rt *rapid.T, o *hOrg) string {
	if rapid.IntRange(0, 4).Draw(rt, "takenName") == 0 {
		return h.drawRole(rt)
	}
	return h.roleName(o)
}

func (h *hostile) drawCreateBinding(rt *rapid.T, _ *hKey, o *hOrg) hCall {
	var project *uuid.UUID
	if rapid.Bool().Draw(rt, "onProject") {
		p := h.drawProject(rt)
		project = &p
	}
	return h.createBinding(o, h.drawUser(rt), h.drawRole(rt), project)
}

func (h *hostile) drawCreateKey(rt *rapid.T, k *hKey, o *hOrg) hCall {
	var expires *time.Time
	if rapid.IntRange(0, 3).Draw(rt, "expiring") == 0 {
		e := h.clock.Now().Add(time.Duration(rapid.IntRange(-1, 90).Draw(rt, "expiresInMinutes")) * time.Minute)
		expires = &e
	}
	user := k.user
	if rapid.Bool().Draw(rt, "forOther") {
		user = h.drawUser(rt)
	}
	return h.createKey(o, user, expires)
}

func (h *hostile) drawCheckAccess(rt *rapid.T, _ *hKey, o *hOrg) hCall {
	var project *uuid.UUID
	if rapid.Bool().Draw(rt, "onProject") {
		p := h.drawProject(rt)
		project = &p
	}
	perm := rapid.SampledFrom(append(slices.Clone(allPerms), "projects.*")).Draw(rt, "permission")
	return h.checkAccess(o, h.drawUser(rt), perm, project)
}

// Fixtures and model bookkeeping.

// newUser makes up a user of o, not yet created.
func (h *hostile) newUser(o *hOrg) *hUser {
	n, tag := h.next(), "nowhere"
	if o != nil {
		tag = o.tag
	}
	return &hUser{email: fmt.Sprintf("u%d.%s@example.test", n, tag), name: fmt.Sprintf("Name %d %s", n, tag)}
}

// roleName makes up a custom role name of o.
func (h *hostile) roleName(o *hOrg) string {
	if o == nil {
		return fmt.Sprintf("role-%d", h.next())
	}
	return fmt.Sprintf("role-%s-%d", o.tag, h.next())
}

func (h *hostile) userByEmail(email string) *hUser {
	for _, u := range h.users {
		if strings.EqualFold(u.email, email) {
			return u
		}
	}
	return nil
}

// join makes u a member of o: its ID, email and name are o's too, now.
func (h *hostile) join(o *hOrg, u *hUser) {
	o.members[u.id] = true
	o.own[u.id.String()], o.own[u.email], o.own[u.name] = true, true, true
}

func (h *hostile) addKey(k *hKey) {
	h.keys = append(h.keys, k)
	k.org.own[k.id.String()], k.org.own[k.secret] = true, true
}

func (h *hostile) addBinding(o *hOrg, b *hBinding) {
	o.bindings[b.id] = b
	o.own[b.id.String()] = true
}

// suspend suspends the user, or resumes a suspended one, as an operator
// does: in one transaction with a bump of the policy version of every org
// they belong to, which the authorizer then learns.
func (h *hostile) suspend(id uuid.UUID) {
	u := h.users[id]
	if u == nil {
		return
	}
	status := repo.UserSuspended
	if u.suspended {
		status = repo.UserActive
	}
	var versions map[uuid.UUID]int64
	err := h.w.db.InTx(h.w.ctx, func(tx repo.Store) error {
		if _, err := tx.Users().Update(h.w.ctx, id, repo.UserUpdate{Status: &status}); err != nil {
			return err
		}
		var err error
		versions, err = rbac.BumpVersionsForUser(h.w.ctx, tx, id)
		return err
	})
	if err != nil {
		h.rt.Fatalf("suspend: %v", err)
	}
	for org, v := range versions {
		h.w.authz.Invalidate(org, v)
	}
	u.suspended = !u.suspended
}

// The calls. Each builds the request and says what the model expects of
// it after the checks every call shares (a live key, the caller's own org,
// the permission), in the order the service decides them.

func (h *hostile) getOrg(o *hOrg) hCall {
	return hCall{method: "GET", path: "/v1/orgs/" + h.orgOf(o), perm: "org.read",
		apply: func(_ *hKey, o *hOrg, b []byte) {
			var got struct{ ID, Name string }
			json.Unmarshal(b, &got)
			if got.ID != o.id.String() || got.Name != o.name {
				h.rt.Fatalf("org %+v, the model has %s %q", got, o.id, o.name)
			}
		}}
}

func (h *hostile) updateOrg(o *hOrg) hCall {
	name := ""
	if o != nil {
		name = fmt.Sprintf("Org %s %d", o.tag, h.next())
	} else {
		name = fmt.Sprintf("Org %d", h.next())
	}
	return hCall{method: "PATCH", path: "/v1/orgs/" + h.orgOf(o), body: `{"name":"` + name + `"}`, perm: "org.update",
		apply: func(_ *hKey, o *hOrg, _ []byte) { o.name, o.own[name] = name, true }}
}

func (h *hostile) listMembers(o *hOrg) hCall {
	type member struct {
		UserID uuid.UUID `json:"user_id"`
		Email  string    `json:"email"`
		Status string    `json:"status"`
	}
	return listCall(h, o, "/members", "members.read", func(o *hOrg, items []member) {
		got := map[uuid.UUID]bool{}
		for _, m := range items {
			got[m.UserID] = true
			if u := h.users[m.UserID]; u == nil || u.email != m.Email || (m.Status == "suspended") != u.suspended {
				h.rt.Fatalf("member %+v, the model has %+v", m, u)
			}
		}
		if !maps.Equal(got, o.members) {
			h.rt.Fatalf("members %v, the model has %v", got, o.members)
		}
	})
}

func (h *hostile) addMember(o *hOrg, email, name, role string) hCall {
	effective := cmpOr(role, rbac.Member)
	return hCall{method: "POST", path: "/v1/orgs/" + h.orgOf(o) + "/members",
		body: fmt.Sprintf(`{"email":%q,"name":%q,"role":%q}`, email, name, role),
		pre: func() int {
			if !strings.Contains(email, "@") {
				return 400
			}
			return 0
		},
		perm: "members.manage",
		expect: func(k *hKey, o *hOrg) int {
			perms, ok := o.roles[effective]
			switch u := h.userByEmail(email); {
			case !ok:
				return 400
			case !h.canGrant(o, k.user, perms, nil):
				return 403
			case u != nil && o.members[u.id]:
				return 409
			}
			return 201
		},
		apply: func(_ *hKey, o *hOrg, b []byte) {
			var m struct {
				UserID uuid.UUID `json:"user_id"`
				Email  string    `json:"email"`
				Name   string    `json:"name"`
			}
			json.Unmarshal(b, &m)
			u := h.userByEmail(email)
			if u == nil {
				u = &hUser{id: m.UserID, email: email, name: name}
				h.users[u.id] = u
			}
			if m.UserID != u.id || m.Email != u.email || m.Name != u.name {
				h.rt.Fatalf("added member %+v, the model has %+v", m, u)
			}
			h.join(o, u)
			bs, err := h.w.db.RoleBindings().List(h.w.ctx, o.id, repo.PageRequest{Limit: repo.MaxPageSize})
			if err != nil {
				h.rt.Fatal(err)
			}
			for _, b := range bs.Items {
				if b.UserID == u.id {
					h.addBinding(o, &hBinding{id: b.ID, user: u.id, role: effective})
				}
			}
		}}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (h *hostile) removeMember(o *hOrg, user uuid.UUID) hCall {
	return hCall{method: "DELETE", path: "/v1/orgs/" + h.orgOf(o) + "/members/" + user.String(), perm: "members.manage",
		expect: func(k *hKey, o *hOrg) int {
			switch {
			case !o.members[user]:
				return 404
			case !h.mayActOn(o, k.user, user):
				return 403
			case h.lastOwner(o, o.bindingsOf(user)):
				return 409
			}
			return 204
		},
		apply: func(_ *hKey, o *hOrg, _ []byte) {
			delete(o.members, user)
			for _, b := range o.bindingsOf(user) {
				delete(o.bindings, b.id)
			}
			for _, k := range h.keys {
				if k.org == o && k.user == user {
					k.deleted = true
				}
			}
		}}
}

func (h *hostile) listRoles(o *hOrg) hCall {
	type role struct {
		ID          uuid.UUID `json:"id"`
		Name        string    `json:"name"`
		Permissions []string  `json:"permissions"`
	}
	return listCall(h, o, "/roles", "roles.read", func(o *hOrg, items []role) {
		for _, r := range items {
			if !slices.Equal(sorted(r.Permissions), sorted(o.roles[r.Name])) {
				h.rt.Fatalf("role %s grants %v, the model has %v", r.Name, r.Permissions, o.roles[r.Name])
			}
			o.roleIDs[r.Name] = r.ID
			o.own[r.ID.String()] = true
		}
		if len(items) != len(o.roles) {
			h.rt.Fatalf("%d roles, the model has %d", len(items), len(o.roles))
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func validPerms(perms []string) bool {
	return !slices.ContainsFunc(perms, func(p string) bool { return !slices.Contains(grantable, p) })
}

func permsJSON(perms []string) string {
	b, _ := json.Marshal(perms)
	return string(b)
}

func (h *hostile) createRole(o *hOrg, name string, perms []string) hCall {
	return hCall{method: "POST", path: "/v1/orgs/" + h.orgOf(o) + "/roles",
		body: fmt.Sprintf(`{"name":%q,"permissions":%s}`, name, permsJSON(perms)),
		pre: func() int {
			if !validPerms(perms) {
				return 400
			}
			return 0
		},
		perm: "roles.manage",
		expect: func(k *hKey, o *hOrg) int {
			switch _, taken := o.roles[name]; {
			case !h.canGrant(o, k.user, perms, nil):
				return 403
			case taken:
				return 409
			}
			return 201
		},
		apply: func(_ *hKey, o *hOrg, b []byte) {
			var r struct {
				ID uuid.UUID `json:"id"`
			}
			json.Unmarshal(b, &r)
			o.roles[name], o.roleIDs[name] = perms, r.ID
			o.own[name], o.own[r.ID.String()] = true, true
		}}
}

func (h *hostile) updateRole(o *hOrg, name string, perms []string) hCall {
	return hCall{method: "PUT", path: "/v1/orgs/" + h.orgOf(o) + "/roles/" + name, body: `{"permissions":` + permsJSON(perms) + `}`,
		pre: func() int {
			if !validPerms(perms) {
				return 400
			}
			return 0
		},
		perm: "roles.manage",
		expect: func(k *hKey, o *hOrg) int {
			_, exists := o.roles[name]
			_, builtin := rolePerms[name]
			switch {
			case !exists:
				return 404
			case builtin:
				return 409
			case !h.canGrant(o, k.user, perms, nil):
				return 403
			case strictRoleEdits && !h.canGrant(o, k.user, o.roles[name], nil):
				return 403
			}
			return 200
		},
		apply: func(_ *hKey, o *hOrg, _ []byte) { o.roles[name] = perms }}
}

func (h *hostile) deleteRole(o *hOrg, name string) hCall {
	return hCall{method: "DELETE", path: "/v1/orgs/" + h.orgOf(o) + "/roles/" + name, perm: "roles.manage",
		expect: func(k *hKey, o *hOrg) int {
			_, exists := o.roles[name]
			_, builtin := rolePerms[name]
			bound := false
			for _, b := range o.bindings {
				bound = bound || b.role == name
			}
			switch {
			case !exists:
				return 404
			case builtin, bound:
				return 409
			}
			return 204
		},
		apply: func(_ *hKey, o *hOrg, _ []byte) { delete(o.roles, name) }}
}

func (h *hostile) listBindings(o *hOrg) hCall {
	type binding struct {
		ID        uuid.UUID  `json:"id"`
		UserID    uuid.UUID  `json:"user_id"`
		RoleID    uuid.UUID  `json:"role_id"`
		ProjectID *uuid.UUID `json:"project_id"`
	}
	return listCall(h, o, "/role-bindings", "roles.read", func(o *hOrg, items []binding) {
		for _, got := range items {
			m := o.bindings[got.ID]
			if m == nil || m.user != got.UserID || (m.project == nil) != (got.ProjectID == nil) ||
				m.project != nil && *m.project != *got.ProjectID || o.roleIDs[m.role] != uuid.Nil && o.roleIDs[m.role] != got.RoleID {
				h.rt.Fatalf("binding %+v, the model has %+v", got, m)
			}
		}
		if len(items) != len(o.bindings) {
			h.rt.Fatalf("%d bindings, the model has %d", len(items), len(o.bindings))
		}
	})
}

func (h *hostile) createBinding(o *hOrg, user uuid.UUID, role string, project *uuid.UUID) hCall {
	body := fmt.Sprintf(`{"user_id":"%s","role":%q}`, user, role)
	if project != nil {
		body = fmt.Sprintf(`{"user_id":"%s","role":%q,"project_id":"%s"}`, user, role, project)
	}
	return hCall{method: "POST", path: "/v1/orgs/" + h.orgOf(o) + "/role-bindings", body: body, perm: "roles.manage",
		expect: func(k *hKey, o *hOrg) int {
			perms, ok := o.roles[role]
			switch {
			case !ok:
				return 400
			case !h.canGrant(o, k.user, perms, project):
				return 403
			case !o.members[user]:
				return 404
			case project != nil && o.projects[*project] == "":
				return 404
			}
			for _, b := range o.bindingsOf(user) {
				if b.role == role && (b.project == nil && project == nil || b.project != nil && project != nil && *b.project == *project) {
					return 409
				}
			}
			return 201
		},
		apply: func(_ *hKey, o *hOrg, b []byte) {
			var got struct {
				ID uuid.UUID `json:"id"`
			}
			json.Unmarshal(b, &got)
			h.addBinding(o, &hBinding{id: got.ID, user: user, role: role, project: project})
		}}
}

func (h *hostile) deleteBinding(o *hOrg, id uuid.UUID) hCall {
	return hCall{method: "DELETE", path: "/v1/orgs/" + h.orgOf(o) + "/role-bindings/" + id.String(), perm: "roles.manage",
		expect: func(k *hKey, o *hOrg) int {
			b := o.bindings[id]
			switch {
			case b == nil:
				return 404
			case !h.canGrant(o, k.user, o.roles[b.role], b.project):
				return 403
			case h.lastOwner(o, []*hBinding{b}):
				return 409
			}
			return 204
		},
		apply: func(_ *hKey, o *hOrg, _ []byte) { delete(o.bindings, id) }}
}

func (h *hostile) listProjects(o *hOrg) hCall {
	type project struct {
		ID   uuid.UUID `json:"id"`
		Name string    `json:"name"`
	}
	return listCall(h, o, "/projects", "projects.read", func(o *hOrg, items []project) {
		got := map[uuid.UUID]string{}
		for _, p := range items {
			got[p.ID] = p.Name
		}
		if !maps.Equal(got, o.projects) {
			h.rt.Fatalf("projects %v, the model has %v", got, o.projects)
		}
	})
}

func (h *hostile) createProject(o *hOrg) hCall {
	name := fmt.Sprintf("proj-%d", h.next())
	if o != nil {
		name = fmt.Sprintf("proj-%s-%d", o.tag, h.next())
	}
	return hCall{method: "POST", path: "/v1/orgs/" + h.orgOf(o) + "/projects", body: `{"name":"` + name + `"}`, perm: "projects.create",
		expect: func(*hKey, *hOrg) int { return 201 },
		apply: func(_ *hKey, o *hOrg, b []byte) {
			var p struct {
				ID uuid.UUID `json:"id"`
			}
			json.Unmarshal(b, &p)
			o.projects[p.ID] = name
			o.own[p.ID.String()], o.own[name] = true, true
		}}
}

// projectCall is a call on one project: it needs perm on that project, and
// a project the org does not have is 404 once authorized.
func (h *hostile) projectCall(method string, o *hOrg, id uuid.UUID, body, perm string, ok int, apply func(*hKey, *hOrg, []byte)) hCall {
	return hCall{method: method, path: "/v1/orgs/" + h.orgOf(o) + "/projects/" + id.String(), body: body, perm: perm, on: &id,
		expect: func(_ *hKey, o *hOrg) int {
			if o.projects[id] == "" {
				return 404
			}
			return ok
		},
		apply: apply}
}

func (h *hostile) getProject(o *hOrg, id uuid.UUID) hCall {
	return h.projectCall("GET", o, id, "", "projects.read", 200, func(_ *hKey, o *hOrg, b []byte) {
		var p struct{ Name string }
		json.Unmarshal(b, &p)
		if p.Name != o.projects[id] {
			h.rt.Fatalf("project %s is %q, the model has %q", id, p.Name, o.projects[id])
		}
	})
}

func (h *hostile) updateProject(o *hOrg, id uuid.UUID) hCall {
	return h.projectCall("PATCH", o, id, fmt.Sprintf(`{"description":"edit %d"}`, h.next()), "projects.update", 200, nil)
}

func (h *hostile) deleteProject(o *hOrg, id uuid.UUID) hCall {
	return h.projectCall("DELETE", o, id, "", "projects.delete", 204, func(_ *hKey, o *hOrg, _ []byte) {
		delete(o.projects, id)
		for _, b := range o.bindings {
			if b.project != nil && *b.project == id {
				delete(o.bindings, b.id) // the project's bindings go with it
			}
		}
	})
}

func (h *hostile) listKeys(o *hOrg) hCall {
	type key struct {
		ID        uuid.UUID  `json:"id"`
		RevokedAt *time.Time `json:"revoked_at"`
	}
	return listCall(h, o, "/api-keys", "apikeys.manage", func(o *hOrg, items []key) {
		got, want := map[uuid.UUID]bool{}, map[uuid.UUID]bool{} // revoked, by key ID
		for _, k := range items {
			got[k.ID] = k.RevokedAt != nil
		}
		for _, k := range h.keys {
			if k.org == o && !k.deleted {
				want[k.id] = k.revoked
			}
		}
		if !maps.Equal(got, want) {
			h.rt.Fatalf("keys (revoked?) %v, the model has %v", got, want)
		}
	})
}

// listCall reads one of o's lists, every item on one page, and has check
// compare the items with the model.
func listCall[T any](h *hostile, o *hOrg, path, perm string, check func(o *hOrg, items []T)) hCall {
	return hCall{method: "GET", path: "/v1/orgs/" + h.orgOf(o) + path + "?limit=500", perm: perm,
		apply: func(_ *hKey, o *hOrg, b []byte) {
			var page struct {
				Items []T `json:"items"`
			}
			if err := json.Unmarshal(b, &page); err != nil {
				h.rt.Fatalf("%s: %v", path, err)
			}
			check(o, page.Items)
		}}
}

func (h *hostile) createKey(o *hOrg, user uuid.UUID, expires *time.Time) hCall {
	body := fmt.Sprintf(`{"name":"key-%d","user_id":"%s"}`, h.next(), user)
	if expires != nil {
		body = fmt.Sprintf(`{"name":"key-%d","user_id":"%s","expires_at":"%s"}`, h.next(), user, expires.UTC().Format(time.RFC3339Nano))
	}
	return hCall{method: "POST", path: "/v1/orgs/" + h.orgOf(o) + "/api-keys", body: body,
		pre: func() int {
			if expires != nil && !expires.After(h.clock.Now()) {
				return 400
			}
			return 0
		},
		perm: "apikeys.manage",
		expect: func(k *hKey, o *hOrg) int {
			switch {
			case user == k.user:
			case !o.members[user]:
				return 404
			case !h.mayActOn(o, k.user, user):
				return 403
			}
			return 201
		},
		apply: func(_ *hKey, o *hOrg, b []byte) {
			var got struct {
				ID  uuid.UUID `json:"id"`
				Key string    `json:"key"`
			}
			json.Unmarshal(b, &got)
			h.addKey(&hKey{id: got.ID, secret: got.Key, org: o, user: user, expires: expires})
		}}
}

func (h *hostile) revokeKey(o *hOrg, id uuid.UUID) hCall {
	return hCall{method: "DELETE", path: "/v1/orgs/" + h.orgOf(o) + "/api-keys/" + id.String(), perm: "apikeys.manage",
		expect: func(k *hKey, o *hOrg) int {
			i := slices.IndexFunc(h.keys, func(k *hKey) bool { return k.id == id })
			switch {
			case i < 0 || h.keys[i].deleted || h.keys[i].org != o:
				return 404
			case !h.mayActOn(o, k.user, h.keys[i].user):
				return 403
			case h.keys[i].revoked:
				return 404
			}
			return 204
		},
		apply: func(*hKey, *hOrg, []byte) {
			for _, k := range h.keys {
				if k.id == id {
					k.revoked = true
				}
			}
		}}
}

func (h *hostile) checkAccess(o *hOrg, user uuid.UUID, perm string, project *uuid.UUID) hCall {
	q := url.Values{"user_id": {user.String()}, "permission": {perm}}
	if project != nil {
		q.Set("project_id", project.String())
	}
	return hCall{method: "GET", path: "/v1/orgs/" + h.orgOf(o) + "/access-check?" + q.Encode(),
		pre: func() int {
			if !slices.Contains(allPerms, perm) {
				return 400
			}
			return 0
		},
		perm: "members.read",
		apply: func(_ *hKey, o *hOrg, b []byte) {
			var d struct{ Allowed bool }
			json.Unmarshal(b, &d)
			if want := h.allowed(o, user, perm, project); d.Allowed != want {
				h.rt.Fatalf("access check of %s for %s on %v: %s; the model says allowed=%v", perm, user, project, b, want)
			}
		}}
}

func (h *hostile) listAudit(o *hOrg) hCall {
	return hCall{method: "GET", path: "/v1/orgs/" + h.orgOf(o) + "/audit-events?limit=500", perm: "audit.read"}
}

func (h *hostile) verifyAudit(o *hOrg) hCall {
	return hCall{method: "GET", path: "/v1/orgs/" + h.orgOf(o) + "/audit-events/verify", perm: "audit.read",
		apply: func(_ *hKey, _ *hOrg, b []byte) {
			if !strings.Contains(string(b), `"ok":true`) {
				h.rt.Fatalf("the audit chain does not verify: %s", b)
			}
		}}
}

// Model queries: the RBAC rules of docs/api.md, written out.

// live reports whether k authenticates: not garbage, revoked, gone with its
// member, or expired, and its user active.
func (h *hostile) live(k *hKey) bool {
	if k.org == nil || k.revoked || k.deleted || k.expires != nil && !h.clock.Now().Before(*k.expires) {
		return false
	}
	u := h.users[k.user]
	return u != nil && !u.suspended && k.org.members[k.user]
}

// allowed decides whether user holds perm in o, on project if not nil: an
// active user, an org-wide binding of a role covering perm, or a binding on
// that project of a role covering perm when perm is project-scoped.
func (h *hostile) allowed(o *hOrg, user uuid.UUID, perm string, project *uuid.UUID) bool {
	if u := h.users[user]; u == nil || u.suspended {
		return false
	}
	for _, b := range o.bindingsOf(user) {
		covers := slices.ContainsFunc(o.roles[b.role], func(g string) bool { return matches(g, perm) })
		switch {
		case !covers:
		case b.project == nil:
			return true
		case project != nil && *b.project == *project && slices.Contains(projectScoped, perm):
			return true
		}
	}
	return false
}

// canGrant decides whether actor may give perms in o at a scope (org-wide
// when project is nil): every permission they would confer there held
// there, and a wildcard only by holding there a wildcard covering it.
func (h *hostile) canGrant(o *hOrg, actor uuid.UUID, perms []string, project *uuid.UUID) bool {
	bindings := o.bindingsOf(actor)
	if u := h.users[actor]; u == nil || u.suspended || len(bindings) == 0 {
		return false
	}
	for _, p := range perms {
		switch {
		case isWildcard(p):
			held := false
			for _, b := range bindings {
				if b.project == nil || project != nil && *b.project == *project {
					held = held || slices.ContainsFunc(o.roles[b.role], func(g string) bool { return isWildcard(g) && matches(g, p) })
				}
			}
			if !held {
				return false
			}
		case project != nil && !slices.Contains(projectScoped, p):
			// a project binding confers nothing through it
		case !h.allowed(o, actor, p, project):
			return false
		}
	}
	return true
}

// mayActOn decides whether actor may remove target, or mint or revoke their
// keys: acting on oneself, or holding all target holds at each scope.
func (h *hostile) mayActOn(o *hOrg, actor, target uuid.UUID) bool {
	if actor == target {
		return true
	}
	for _, b := range o.bindingsOf(target) {
		if !h.canGrant(o, actor, o.roles[b.role], b.project) {
			return false
		}
	}
	return true
}

// lastOwner reports whether removing these bindings would leave o without
// an org-wide binding of the owner role.
func (h *hostile) lastOwner(o *hOrg, removed []*hBinding) bool {
	gone, total := 0, 0
	for _, b := range o.bindings {
		if b.role == rbac.Owner && b.project == nil {
			total++
			if slices.Contains(removed, b) {
				gone++
			}
		}
	}
	return gone > 0 && total <= gone
}

// TestRoleEditTakesAway: docs/api.md's no-escalation rule says editing a role
// needs every permission involved. An admin may not unbind a role granting
// "*" (they do not hold "*"); editing that role down to nothing much has the
// same effect on whoever holds it, so it is refused as well.
func TestRoleEditTakesAway(t *testing.T) {
	w := newWorld(t)
	const o = "/v1/orgs/acme"
	w.must(201, w.ownerKey, "POST", o+"/roles", `{"name":"breakglass","permissions":["*"]}`)
	holder := w.addMember(rbac.Viewer)
	b := w.must(201, w.ownerKey, "POST", o+"/role-bindings", `{"user_id":"`+holder.String()+`","role":"breakglass"}`).json(t)
	admin := w.keyFor(w.org.ID, w.addMember(rbac.Admin))
	w.must(403, admin, "DELETE", o+"/role-bindings/"+b["id"].(string), "")
	if a := w.call(admin, "PUT", o+"/roles/breakglass", `{"permissions":["org.read"]}`); a.status != 403 {
		t.Fatalf("an admin stripped \"*\" from a role they could not unbind: %d %s", a.status, a.body)
	}
}
