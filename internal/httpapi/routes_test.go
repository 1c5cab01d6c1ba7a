package httpapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/mocks"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// Fixtures the mock service answers with.
var (
	t0        = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	userID    = uuid.MustParse("01900000-0000-7000-8000-00000000000a")
	roleID    = uuid.MustParse("01900000-0000-7000-8000-00000000000b")
	bindingID = uuid.MustParse("01900000-0000-7000-8000-00000000000c")
	projectID = uuid.MustParse("01900000-0000-7000-8000-00000000000d")
	keyID     = uuid.MustParse("01900000-0000-7000-8000-00000000000e")
	eventID   = uuid.MustParse("01900000-0000-7000-8000-00000000000f")
	expires   = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	org     = repo.Org{ID: principal.OrgID, Slug: "acme", Name: "Acme", Region: "local", CreatedAt: t0, UpdatedAt: t0}
	member  = repo.Member{OrgID: principal.OrgID, User: repo.User{ID: userID, Email: "ada@acme.test", Name: "Ada", Status: repo.UserActive}, JoinedAt: t0}
	role    = repo.Role{ID: roleID, OrgID: principal.OrgID, Name: "deployer", Permissions: []string{"projects.read"}, CreatedAt: t0, UpdatedAt: t0}
	binding = repo.RoleBinding{ID: bindingID, OrgID: principal.OrgID, UserID: userID, RoleID: roleID, ProjectID: &projectID, CreatedAt: t0}
	project = repo.Project{ID: projectID, OrgID: principal.OrgID, Name: "apollo", Description: "moon", CreatedAt: t0, UpdatedAt: t0}
	apiKey  = repo.APIKey{ID: keyID, OrgID: principal.OrgID, UserID: userID, Name: "ci", SecretHash: bytes.Repeat([]byte{0xab}, 32), CreatedAt: t0, ExpiresAt: &expires}
	newKey  = service.NewKey{APIKey: apiKey, Secret: "strata_newkey"}
	allowed = rbac.Decision{Allowed: true, Reason: "granted by role \"admin\" bound org-wide", BindingID: bindingID, RoleID: roleID, RoleName: "admin"}
	event   = repo.AuditEvent{OrgID: principal.OrgID, Seq: 7, ID: eventID, OccurredAt: t0, ActorType: repo.ActorUser, ActorID: userID.String(),
		Action: "project.create", TargetType: "project", TargetID: projectID.String(), Outcome: repo.OutcomeSuccess,
		Metadata: `{"after":{"name":"apollo"}}`, RemoteAddr: testRemote, RequestID: "r", PrevHash: make([]byte, 32), Hash: bytes.Repeat([]byte{0x01}, 32)}
	report = audit.Report{OK: true, Events: 7, LastSeq: 7, LastHash: bytes.Repeat([]byte{0xcd}, 32)}
)

func ptr[T any](v T) *T { return &v }

var any_ = gomock.Any()

// routeCase is one /v1 route called as a client would, the service call it
// must make, and what that call answers on success.
type routeCase struct {
	method, path, body string
	status             int                                                 // on success
	expect             func(m *mocks.MockServiceMockRecorder) *gomock.Call // the call, with its arguments
	result             []any                                               // its results but the error
}

func (c routeCase) name() string { return c.method + " " + c.path }

// routeCases covers every /v1 route.
func routeCases() []routeCase {
	const o = "/v1/orgs/acme"
	page := repo.PageRequest{}
	return []routeCase{
		{"GET", o, "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.GetOrg(any_, principal, "acme")
		}, []any{org}},
		{"PATCH", o, `{"name":"Acme Inc"}`, 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.UpdateOrg(any_, principal, "acme", repo.OrgUpdate{Name: ptr("Acme Inc")})
		}, []any{org}},

		{"GET", o + "/members?limit=10&cursor=c1", "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.ListMembers(any_, principal, "acme", repo.PageRequest{Limit: 10, Cursor: "c1"})
		}, []any{repo.Page[repo.Member]{Items: []repo.Member{member}, Next: "c2"}}},
		{"POST", o + "/members", `{"email":"ada@acme.test","name":"Ada","role":"viewer"}`, 201, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.AddMember(any_, principal, "acme", service.NewMember{Email: "ada@acme.test", Name: "Ada", Role: "viewer"})
		}, []any{member}},
		{"DELETE", o + "/members/" + userID.String(), "", 204, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.RemoveMember(any_, principal, "acme", userID)
		}, nil},

		{"GET", o + "/roles", "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.ListRoles(any_, principal, "acme", page)
		}, []any{repo.Page[repo.Role]{Items: []repo.Role{role}}}},
		{"POST", o + "/roles", `{"name":"deployer","permissions":["projects.read"]}`, 201, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.CreateRole(any_, principal, "acme", "deployer", []string{"projects.read"})
		}, []any{role}},
		{"PUT", o + "/roles/deployer", `{"permissions":["projects.read","projects.update"]}`, 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.UpdateRole(any_, principal, "acme", "deployer", []string{"projects.read", "projects.update"})
		}, []any{role}},
		{"DELETE", o + "/roles/deployer", "", 204, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.DeleteRole(any_, principal, "acme", "deployer")
		}, nil},

		{"GET", o + "/role-bindings", "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.ListRoleBindings(any_, principal, "acme", page)
		}, []any{repo.Page[repo.RoleBinding]{Items: []repo.RoleBinding{binding}}}},
		{"POST", o + "/role-bindings", `{"user_id":"` + userID.String() + `","role":"viewer","project_id":"` + projectID.String() + `"}`, 201,
			func(m *mocks.MockServiceMockRecorder) *gomock.Call {
				return m.CreateRoleBinding(any_, principal, "acme", service.NewBinding{UserID: userID, Role: "viewer", ProjectID: &projectID})
			}, []any{binding}},
		{"DELETE", o + "/role-bindings/" + bindingID.String(), "", 204, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.DeleteRoleBinding(any_, principal, "acme", bindingID)
		}, nil},

		{"GET", o + "/projects?limit=2", "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.ListProjects(any_, principal, "acme", repo.PageRequest{Limit: 2})
		}, []any{repo.Page[repo.Project]{Items: []repo.Project{project}}}},
		{"POST", o + "/projects", `{"name":"apollo","description":"moon"}`, 201, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.CreateProject(any_, principal, "acme", repo.NewProject{Name: "apollo", Description: "moon"})
		}, []any{project}},
		{"GET", o + "/projects/" + projectID.String(), "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.GetProject(any_, principal, "acme", projectID)
		}, []any{project}},
		{"PATCH", o + "/projects/" + projectID.String(), `{"description":"sun"}`, 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.UpdateProject(any_, principal, "acme", projectID, repo.ProjectUpdate{Description: ptr("sun")})
		}, []any{project}},
		{"DELETE", o + "/projects/" + projectID.String(), "", 204, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.DeleteProject(any_, principal, "acme", projectID)
		}, nil},

		{"GET", o + "/api-keys", "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.ListAPIKeys(any_, principal, "acme", page)
		}, []any{repo.Page[repo.APIKey]{Items: []repo.APIKey{apiKey}}}},
		{"POST", o + "/api-keys", `{"name":"ci","expires_at":"2030-01-02T03:04:05Z"}`, 201, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.CreateAPIKey(any_, principal, "acme", service.NewAPIKey{Name: "ci", ExpiresAt: &expires})
		}, []any{newKey}},
		{"DELETE", o + "/api-keys/" + keyID.String(), "", 204, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.RevokeAPIKey(any_, principal, "acme", keyID)
		}, nil},

		{"GET", o + "/access-check?user_id=" + userID.String() + "&permission=projects.update&project_id=" + projectID.String(), "", 200,
			func(m *mocks.MockServiceMockRecorder) *gomock.Call {
				return m.CheckAccess(any_, principal, "acme", userID, "projects.update", &projectID)
			}, []any{allowed}},

		{"GET", o + "/audit-events?action=project.create", "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.ListAuditEvents(any_, principal, "acme", repo.AuditFilter{Action: "project.create", Descending: true}, page)
		}, []any{repo.Page[repo.AuditEvent]{Items: []repo.AuditEvent{event}}}},
		{"GET", o + "/audit-events/verify", "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.VerifyAudit(any_, principal, "acme")
		}, []any{report}},
		{"GET", o + "/audit-events/export?format=csv", "", 200, func(m *mocks.MockServiceMockRecorder) *gomock.Call {
			return m.ExportAudit(any_, principal, "acme", service.CSV, repo.AuditFilter{}, any_)
		}, []any{int64(0)}},
	}
}

func TestEveryRouteCallsTheServiceAndAnswers(t *testing.T) {
	for _, c := range routeCases() {
		t.Run(c.name(), func(t *testing.T) {
			h := newHarness(t).authOK()
			c.expect(h.rec).Return(append(c.result, nil)...)
			w := h.do(request{method: c.method, path: c.path, body: c.body})
			if w.Code != c.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, c.status, w.Body)
			}
			if w.Header().Get("X-Request-ID") != testRequestID {
				t.Errorf("X-Request-ID = %q", w.Header().Get("X-Request-ID"))
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
			}
			switch {
			case c.status == http.StatusNoContent:
				if w.Body.Len() != 0 {
					t.Errorf("204 with a body: %s", w.Body)
				}
			case strings.Contains(c.path, "/export"):
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
					t.Errorf("Content-Type = %q", ct)
				}
			default:
				if ct := w.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q", ct)
				}
				decodeBody[map[string]any](t, w.Body.Bytes())
			}
		})
	}
}

// errorCases are the service errors every route must map, with the answer.
var errorCases = []struct {
	name   string
	err    error
	status int
	code   string
	field  string
}{
	{"not found", repo.NotFound("project"), 404, "not_found", ""},
	{"wrapped not found", fmt.Errorf("lookup: %w", repo.NotFound("project")), 404, "not_found", ""},
	{"conflict", repo.Conflict("name taken"), 409, "conflict", ""},
	{"invalid", repo.Invalid("name", "must not be empty"), 400, "invalid", "name"},
	{"forbidden", repo.Forbidden("missing permission projects.update"), 403, "forbidden", ""},
	{"unauthenticated", repo.Unauthenticated("invalid or expired API key"), 401, "unauthenticated", ""},
	{"unavailable", &repo.Error{Kind: repo.ErrUnavailable, Message: "database busy", Err: errors.New("dial tcp: refused")}, 503, "unavailable", ""},
	{"internal", &repo.Error{Kind: repo.ErrInternal, Message: "SQLSTATE XX000 at pg.go:42"}, 500, "internal", ""},
	{"outside the vocabulary", errors.New("pq: relation projects_secret does not exist"), 500, "internal", ""},
}

func TestEveryRouteMapsEveryErrorKind(t *testing.T) {
	for _, c := range routeCases() {
		for _, ec := range errorCases {
			t.Run(c.name()+"/"+ec.name, func(t *testing.T) {
				h := newHarness(t).authOK()
				c.expect(h.rec).Return(append(c.result, ec.err)...)
				w := h.do(request{method: c.method, path: c.path, body: c.body})
				e := wantError(t, w, ec.status, ec.code, ec.field)
				switch ec.status {
				case 500:
					if e.Error.Message != "internal error" {
						t.Errorf("500 shows %q", e.Error.Message)
					}
					if !strings.Contains(h.logs.String(), ec.err.Error()) {
						t.Errorf("the real error is not logged:\n%s", h.logs)
					}
				case 401:
					if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
						t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
					}
				case 503:
					if w.Header().Get("Retry-After") == "" {
						t.Error("503 without Retry-After")
					}
				}
			})
		}
	}
}
