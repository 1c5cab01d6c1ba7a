package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// world is the real API over the real service on a fresh database (SQLite
// unless told otherwise), with org "acme" bootstrapped and owned by
// owner@acme.test.
type world struct {
	t        *testing.T
	ctx      context.Context
	db       repo.DB
	svc      *service.Service
	authz    *rbac.Authorizer
	srv      *httptest.Server
	logs     *syncBuffer
	org      repo.Org
	ownerKey string
	owner    service.Principal // the owner, for preparing fixtures through the service
	seq      int               // makes fixture names unique
}

// worldOptions change how newWorldWith builds a world.
type worldOptions struct {
	dialect repo.Dialect          // "" means SQLite
	now     func() time.Time      // the service's clock; nil means time.Now
	level   slog.Level            // the lowest level logged
	config  func(*httpapi.Config) // adjusts the API's configuration
}

func newWorld(t *testing.T) *world { return newWorldWith(t, worldOptions{}) }

func newWorldWith(t *testing.T, opts worldOptions) *world {
	t.Helper()
	ctx := context.Background()
	db := testdb.Open(t, cmp.Or(opts.dialect, repo.SQLite))
	authz := rbac.New(db.RoleBindings(), rbac.Options{})
	svc := service.New(db, authz, service.Options{Now: opts.now})
	o, key, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: "acme", Email: "owner@acme.test"}, service.Request{})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	owner, err := svc.Authenticate(ctx, key.Secret, service.Request{})
	if err != nil {
		t.Fatalf("authenticate the owner: %v", err)
	}
	logs := &syncBuffer{}
	cfg := httpapi.Config{DB: db, Service: svc, Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: opts.level}))}
	if opts.config != nil {
		opts.config(&cfg)
	}
	srv := httptest.NewServer(httpapi.New(cfg))
	t.Cleanup(srv.Close)
	w := &world{t: t, ctx: ctx, db: db, svc: svc, authz: authz, srv: srv, logs: logs, org: o, ownerKey: key.Secret, owner: owner}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), "strata_") {
			t.Errorf("the log shows an API key:\n%s", logs)
		}
	})
	return w
}

// answer is a response, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	return decodeBody[map[string]any](t, a.body)
}

// call sends one request with key ("" for none); a body is sent as JSON.
func (w *world) call(key, method, path, body string) answer {
	w.t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	return w.send(key, method, path, ctype, body)
}

// send is call with the Content-Type given ("" for none).
func (w *world) send(key, method, path, contentType, body string) answer {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.srv.URL+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return w.do(req)
}

// do sends req and reads the answer.
func (w *world) do(req *http.Request) answer {
	w.t.Helper()
	res, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatalf("%s %s: read: %v", req.Method, req.URL.Path, err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

// must calls and insists on status.
func (w *world) must(status int, key, method, path, body string) answer {
	w.t.Helper()
	a := w.call(key, method, path, body)
	if a.status != status {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.status, status, a.body)
	}
	return a
}

// keyFor makes an API key for a member straight in the repository, the way
// the service does (strata_<id hex>_<43 base64url>, SHA-256 stored):
// CreateAPIKey only makes keys for its caller.
func (w *world) keyFor(orgID, userID uuid.UUID) string {
	w.t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	k, err := w.db.APIKeys().Create(w.ctx, orgID, repo.NewAPIKey{UserID: userID, Name: "test", SecretHash: sum[:]})
	if err != nil {
		w.t.Fatalf("create key: %v", err)
	}
	return "strata_" + hex.EncodeToString(k.ID[:]) + "_" + secret
}

// next returns a fresh number for fixture names.
func (w *world) next() int {
	w.seq++
	return w.seq
}

// seal seals the events the database has pending (PostgreSQL), as a
// server's sealer would.
func (w *world) seal() {
	w.t.Helper()
	if _, err := audit.NewSealer(w.db.AuditEvents(), audit.SealerOptions{}).SealAll(w.ctx); err != nil {
		w.t.Fatal(err)
	}
}

// head is the org's last audit sequence number, once everything is sealed.
func (w *world) head(orgID uuid.UUID) int64 {
	w.t.Helper()
	w.seal()
	seq, _, err := w.db.AuditEvents().Head(w.ctx, orgID)
	if err != nil {
		w.t.Fatal(err)
	}
	return seq
}

// eventsSince returns the org's last audit events after seq (up to 50),
// newest first.
func (w *world) eventsSince(orgID uuid.UUID, seq int64) []repo.AuditEvent {
	w.t.Helper()
	w.seal()
	page, err := w.db.AuditEvents().List(w.ctx, orgID, repo.AuditFilter{Descending: true}, repo.PageRequest{Limit: 50})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []repo.AuditEvent
	for _, ev := range page.Items {
		if ev.Seq > seq {
			out = append(out, ev)
		}
	}
	return out
}

// addMember adds a member through the service, as the owner.
func (w *world) addMember(role string) uuid.UUID {
	w.t.Helper()
	m, err := w.svc.AddMember(w.ctx, w.owner, "acme", service.NewMember{Email: fmt.Sprintf("extra-%d@acme.test", w.next()), Role: role})
	if err != nil {
		w.t.Fatalf("add member: %v", err)
	}
	return m.User.ID
}

func TestReadmeWalkThrough(t *testing.T) {
	w := newWorld(t)
	key := w.ownerKey

	org := w.must(200, key, "GET", "/v1/orgs/acme", "").json(t)
	if org["slug"] != "acme" || org["id"] != w.org.ID.String() {
		t.Errorf("org = %v", org)
	}
	p := w.must(201, key, "POST", "/v1/orgs/acme/projects", `{"name":"apollo","description":"first project"}`).json(t)
	if p["name"] != "apollo" || p["id"] == "" {
		t.Errorf("project = %v", p)
	}
	m := w.must(201, key, "POST", "/v1/orgs/acme/members", `{"email":"ada@acme.test","name":"Ada","role":"member"}`).json(t)
	if m["email"] != "ada@acme.test" || m["status"] != "active" {
		t.Errorf("member = %v", m)
	}

	var trail struct {
		Items []struct {
			Seq      int64          `json:"seq"`
			Action   string         `json:"action"`
			Outcome  string         `json:"outcome"`
			TargetID string         `json:"target_id"`
			ActorID  string         `json:"actor_id"`
			Metadata map[string]any `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(w.must(200, key, "GET", "/v1/orgs/acme/audit-events", "").body, &trail); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range trail.Items {
		actions = append(actions, ev.Action)
	}
	if strings.Join(actions, ",") != "member.add,project.create,org.bootstrap" {
		t.Errorf("audit trail, newest first: %v", actions)
	}
	if ev := trail.Items[1]; ev.TargetID != p["id"] || ev.ActorID != w.owner.UserID.String() || ev.Outcome != "success" || ev.Metadata["after"] == nil {
		t.Errorf("project.create event = %+v", ev)
	}

	report := w.must(200, key, "GET", "/v1/orgs/acme/audit-events/verify", "").json(t)
	if report["ok"] != true || report["events"] != 3.0 || len(report["last_hash"].(string)) != 64 {
		t.Errorf("verify = %v", report)
	}

	export := w.must(200, key, "GET", "/v1/orgs/acme/audit-events/export?format=jsonl", "")
	if export.header.Get("Content-Type") != "application/x-ndjson" || bytes.Count(export.body, []byte("\n")) != 3 {
		t.Errorf("JSONL export: %q\n%s", export.header.Get("Content-Type"), export.body)
	}
	offline, err := audit.VerifyJSONL(w.ctx, bytes.NewReader(export.body), audit.VerifyOptions{})
	if err != nil || !offline.OK || hex.EncodeToString(offline.LastHash) != report["last_hash"] {
		t.Errorf("the JSONL export does not verify: %v %v", offline, err)
	}
	csv := w.must(200, key, "GET", "/v1/orgs/acme/audit-events/export?format=csv", "")
	if !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(string(csv.body), "org_id,seq,") {
		t.Errorf("CSV export: %q\n%s", csv.header.Get("Content-Type"), csv.body)
	}
}

// TestEndToEndErrors checks each error's status and field, on both
// dialects: a taken name, say, is a 409 naming "name" on either.
func TestEndToEndErrors(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) { testErrors(t, d) })
	}
}

func testErrors(t *testing.T, d repo.Dialect) {
	w := newWorldWith(t, worldOptions{dialect: d})
	key := w.ownerKey
	w.must(201, key, "POST", "/v1/orgs/acme/projects", `{"name":"apollo"}`)

	for _, c := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/v1/orgs/acme/projects", `{"name":"apollo"}`, 409, "name"},
		{"POST", "/v1/orgs/acme/projects", `{"name":"  "}`, 400, "name"},
		{"POST", "/v1/orgs/acme/projects", `{"name":"x","owner":"me"}`, 400, "owner"},
		{"PUT", "/v1/orgs/acme/roles/admin", `{"permissions":["org.read"]}`, 409, ""},
		{"DELETE", "/v1/orgs/acme/roles/owner", "", 409, ""},
		{"POST", "/v1/orgs/acme/roles", `{"name":"bad","permissions":["rockets.launch"]}`, 400, "permissions"},
		{"POST", "/v1/orgs/acme/roles", `{"name":"admin","permissions":["org.read"]}`, 409, "name"},
		{"DELETE", "/v1/orgs/acme/members/" + w.owner.UserID.String(), "", 409, ""},
		{"POST", "/v1/orgs/acme/members", `{"email":"not an email"}`, 400, "email"},
		{"POST", "/v1/orgs/acme/members", `{"email":"owner@acme.test"}`, 409, ""},
		{"POST", "/v1/orgs/acme/role-bindings", `{"user_id":"` + uuid.NewString() + `","role":"viewer"}`, 404, ""},
		{"POST", "/v1/orgs/acme/role-bindings", `{"user_id":"` + w.owner.UserID.String() + `","role":"nope"}`, 400, "role"},
		{"POST", "/v1/orgs/acme/api-keys", `{"name":"old","expires_at":"2001-01-01T00:00:00Z"}`, 400, "expires_at"},
		{"GET", "/v1/orgs/acme/projects/" + uuid.NewString(), "", 404, ""},
		{"GET", "/v1/orgs/acme/projects?cursor=garbage", "", 400, "cursor"},
		{"GET", "/v1/orgs/acme/access-check?user_id=" + w.owner.UserID.String() + "&permission=rockets.launch", "", 400, "permission"},
		{"GET", "/v1/orgs/nope", "", 404, ""},
		{"GET", "/v1/orgs/NOT_A_SLUG", "", 404, ""},
	} {
		a := w.call(key, c.method, c.path, c.body)
		var e apiErr
		json.Unmarshal(a.body, &e)
		if a.status != c.status || e.Error.Field != c.field {
			t.Errorf("%s %s %s: %d %s, want %d field %q", c.method, c.path, c.body, a.status, a.body, c.status, c.field)
		}
	}
}

func TestPagingEndToEnd(t *testing.T) {
	w := newWorld(t)
	for _, name := range []string{"a", "b", "c"} {
		w.must(201, w.ownerKey, "POST", "/v1/orgs/acme/projects", `{"name":"`+name+`"}`)
	}
	var names []string
	path := "/v1/orgs/acme/projects?limit=2"
	for pages := 0; path != ""; pages++ {
		var page struct {
			Items      []projectOut `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}
		json.Unmarshal(w.must(200, w.ownerKey, "GET", path, "").body, &page)
		for _, p := range page.Items {
			names = append(names, p.Name)
		}
		path = ""
		if page.NextCursor != "" {
			path = "/v1/orgs/acme/projects?limit=2&cursor=" + page.NextCursor
		}
		if pages > 3 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(names, "") != "abc" {
		t.Errorf("paged names %v", names)
	}
}

type projectOut struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func TestRevokedKeyFailsAtOnce(t *testing.T) {
	w := newWorld(t)
	k := w.must(201, w.ownerKey, "POST", "/v1/orgs/acme/api-keys", `{"name":"ci"}`).json(t)
	key, id := k["key"].(string), k["id"].(string)
	w.must(200, key, "GET", "/v1/orgs/acme", "")

	keys := string(w.must(200, w.ownerKey, "GET", "/v1/orgs/acme/api-keys", "").body)
	if strings.Contains(keys, key[len(key)-43:]) || strings.Contains(keys, "hash") || strings.Contains(keys, `"key"`) {
		t.Errorf("the key list shows secrets: %s", keys)
	}

	w.must(204, w.ownerKey, "DELETE", "/v1/orgs/acme/api-keys/"+id, "")
	a := w.call(key, "GET", "/v1/orgs/acme", "")
	if a.status != 401 || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("revoked key: %d %q %s", a.status, a.header.Get("WWW-Authenticate"), a.body)
	}
	if a := w.call(key, "GET", "/v1/orgs/acme/projects", ""); a.status != 401 {
		t.Errorf("revoked key, second route: %d", a.status)
	}

	// A removed member's keys go with the membership.
	uid := w.addMember(rbac.Viewer)
	mkey := w.keyFor(w.org.ID, uid)
	w.must(200, mkey, "GET", "/v1/orgs/acme", "")
	w.must(204, w.ownerKey, "DELETE", "/v1/orgs/acme/members/"+uid.String(), "")
	w.must(401, mkey, "GET", "/v1/orgs/acme", "")
}

func TestRequestIDReachesTheAuditTrail(t *testing.T) {
	w := newWorld(t)
	req, _ := http.NewRequest("POST", w.srv.URL+"/v1/orgs/acme/projects", strings.NewReader(`{"name":"traced"}`))
	req.Header.Set("Authorization", "Bearer "+w.ownerKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-ID", "trace-42")
	res, err := w.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 || res.Header.Get("X-Request-ID") != "trace-42" {
		t.Fatalf("%d %q", res.StatusCode, res.Header.Get("X-Request-ID"))
	}
	evs := w.eventsSince(w.org.ID, w.head(w.org.ID)-1)
	if len(evs) != 1 || evs[0].RequestID != "trace-42" || evs[0].RemoteAddr != "127.0.0.1" {
		t.Errorf("event = %+v", evs)
	}
}
