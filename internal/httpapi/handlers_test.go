package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

func TestAuthorizationHeader(t *testing.T) {
	for _, c := range []struct {
		name, header string
	}{
		{"missing", ""},
		{"other scheme", "Basic dXNlcjpwYXNz"},
		{"scheme alone", "Bearer"},
		{"empty token", "Bearer   "},
		{"no space", "Bearer" + testKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t) // no Authenticate expected: the mock fails the test if called
			w := h.do(request{method: "GET", path: "/v1/orgs/acme", header: http.Header{"Authorization": {c.header}}})
			wantError(t, w, 401, "unauthenticated", "")
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		})
	}
	t.Run("scheme in any case", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.GetOrg(any_, principal, "acme").Return(org, nil)
		w := h.do(request{method: "GET", path: "/v1/orgs/acme", header: http.Header{"Authorization": {"bearer " + testKey}}})
		if w.Code != 200 {
			t.Fatalf("status = %d: %s", w.Code, w.Body)
		}
	})
	t.Run("rejected key", func(t *testing.T) {
		h := newHarness(t)
		h.rec.Authenticate(any_, testKey, any_).Return(service.Principal{}, repo.Unauthenticated("invalid or expired API key"))
		w := h.get("/v1/orgs/acme")
		wantError(t, w, 401, "unauthenticated", "")
		if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			t.Errorf("WWW-Authenticate = %q", got)
		}
	})
	t.Run("database down while authenticating", func(t *testing.T) {
		h := newHarness(t)
		h.rec.Authenticate(any_, testKey, any_).Return(service.Principal{}, &repo.Error{Kind: repo.ErrUnavailable, Message: "busy"})
		wantError(t, h.get("/v1/orgs/acme"), 503, "unavailable", "")
	})
}

func TestAuthenticateGetsTheTransportsRequest(t *testing.T) {
	h := newHarness(t)
	h.rec.Authenticate(any_, testKey, service.Request{RemoteAddr: "198.51.100.9", RequestID: "abc.DEF_1-2"}).Return(principal, nil)
	h.rec.GetOrg(any_, principal, "acme").Return(org, nil)
	r := httptest.NewRequest("GET", "/v1/orgs/acme", nil)
	r.RemoteAddr = "198.51.100.9:40000"
	r.Header.Set("Authorization", "Bearer "+testKey)
	r.Header.Set("X-Request-ID", "abc.DEF_1-2")
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status = %d: %s", w.Code, w.Body)
	}
}

func TestRequestID(t *testing.T) {
	for _, c := range []struct {
		name, in string
		kept     bool
	}{
		{"sane", "abc.DEF_1-2", true},
		{"64 characters", strings.Repeat("a", 64), true},
		{"65 characters", strings.Repeat("a", 65), false},
		{"space", "a b", false},
		{"header injection", "a\r\nSet-Cookie: x", false},
		{"slash", "a/b", false},
		{"absent", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			var seen service.Request
			h.rec.Authenticate(any_, testKey, any_).DoAndReturn(func(_ context.Context, _ string, req service.Request) (service.Principal, error) {
				seen = req
				return service.Principal{}, repo.Unauthenticated("no")
			})
			w := h.do(request{method: "GET", path: "/v1/orgs/acme", header: http.Header{"X-Request-Id": {c.in}}})
			got := w.Header().Get("X-Request-ID")
			if c.kept && got != c.in {
				t.Errorf("X-Request-ID = %q, want %q", got, c.in)
			}
			if !c.kept && (got == c.in || len(got) < 16) {
				t.Errorf("X-Request-ID = %q, want a fresh random one", got)
			}
			if seen.RequestID != got {
				t.Errorf("the service saw request ID %q, the client %q", seen.RequestID, got)
			}
		})
	}
	t.Run("on every answer", func(t *testing.T) {
		h := newHarness(t)
		for _, path := range []string{"/healthz", "/nowhere", "/v1/orgs/acme/projects/not-a-uuid", "/openapi.json"} {
			w := h.do(request{method: "GET", path: path, header: http.Header{"Authorization": nil}})
			if w.Header().Get("X-Request-ID") != testRequestID {
				t.Errorf("%s: X-Request-ID = %q", path, w.Header().Get("X-Request-ID"))
			}
		}
	})
	t.Run("fresh ones differ", func(t *testing.T) {
		h := newHarness(t)
		a := h.do(request{method: "GET", path: "/healthz", header: http.Header{"X-Request-Id": nil}}).Header().Get("X-Request-ID")
		b := h.do(request{method: "GET", path: "/healthz", header: http.Header{"X-Request-Id": nil}}).Header().Get("X-Request-ID")
		if a == "" || a == b {
			t.Errorf("request IDs %q and %q", a, b)
		}
	})
}

func TestDecodingRefusesBadBodies(t *testing.T) {
	for _, c := range []struct {
		name, contentType, body string
		status                  int
		code, field             string
	}{
		{"unknown field", "application/json", `{"name":"apollo","colour":"red"}`, 400, "invalid", "colour"},
		{"field in another case", "application/json", `{"Name":"apollo"}`, 400, "invalid", "Name"},
		{"wrong type", "application/json", `{"name":42}`, 400, "invalid", "name"},
		{"null body", "application/json", `null`, 400, "invalid", ""},
		{"array body", "application/json", `[{"name":"apollo"}]`, 400, "invalid", ""},
		{"string body", "application/json", `"apollo"`, 400, "invalid", ""},
		{"empty body", "application/json", ``, 400, "invalid", ""},
		{"trailing object", "application/json", `{"name":"a"}{"name":"b"}`, 400, "invalid", ""},
		{"trailing garbage", "application/json", `{"name":"a"} x`, 400, "invalid", ""},
		{"malformed", "application/json", `{"name":"a",}`, 400, "invalid", ""},
		{"cut short", "application/json", `{"name":"a"`, 400, "invalid", ""},
		{"invalid UTF-8", "application/json", "{\"name\":\"a\xff\xfeb\"}", 400, "invalid", ""},
		{"text/plain", "text/plain", `{"name":"apollo"}`, 415, "unsupported_media_type", ""},
		{"form", "application/x-www-form-urlencoded", `name=apollo`, 415, "unsupported_media_type", ""},
		{"no content type", "", `{"name":"apollo"}`, 415, "unsupported_media_type", ""},
		{"latin-1", "application/json; charset=iso-8859-1", `{"name":"apollo"}`, 415, "unsupported_media_type", ""},
		{"over the limit", "application/json", `{"name":"` + strings.Repeat("a", 200) + `"}`, 413, "too_large", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, withMaxBody(128)).authOK() // no CreateProject expected
			hdr := http.Header{"Content-Type": {c.contentType}}
			if c.contentType == "" {
				hdr["Content-Type"] = nil
			}
			r := request{method: "POST", path: "/v1/orgs/acme/projects", body: c.body, header: hdr}
			wantError(t, h.do(r), c.status, c.code, c.field)
		})
	}
	t.Run("wrong type in an array", func(t *testing.T) {
		h := newHarness(t).authOK()
		w := h.do(request{method: "POST", path: "/v1/orgs/acme/roles", body: `{"name":"x","permissions":["a",1]}`})
		wantError(t, w, 400, "invalid", "permissions")
	})
	t.Run("charset utf-8 is JSON", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.CreateProject(any_, principal, "acme", repo.NewProject{Name: "apollo"}).Return(project, nil)
		w := h.do(request{method: "POST", path: "/v1/orgs/acme/projects", body: `{"name":"apollo"}`,
			header: http.Header{"Content-Type": {"application/json; charset=UTF-8"}}})
		if w.Code != 201 {
			t.Fatalf("status = %d: %s", w.Code, w.Body)
		}
	})
}

func TestMalformedIDs(t *testing.T) {
	const o = "/v1/orgs/acme"
	t.Run("in paths: not found", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{"GET", o + "/projects/not-a-uuid"},
			{"PATCH", o + "/projects/123"},
			{"DELETE", o + "/projects/" + strings.ToUpper(projectID.String()) + "0"},
			{"DELETE", o + "/projects/{" + projectID.String() + "}"},
			{"DELETE", o + "/members/x"},
			{"DELETE", o + "/role-bindings/x"},
			{"DELETE", o + "/api-keys/x"},
			{"PUT", o + "/roles/Not%20A%20Role"},
			{"DELETE", o + "/roles/-x"},
		} {
			h := newHarness(t).authOK() // no service call expected
			w := h.do(request{method: c.method, path: c.path, body: `{"permissions":["projects.read"]}`})
			wantError(t, w, 404, "not_found", "")
		}
	})
	t.Run("in queries and bodies: invalid", func(t *testing.T) {
		for _, c := range []struct{ method, path, body, field string }{
			{"GET", o + "/access-check?user_id=nope&permission=org.read", "", "user_id"},
			{"GET", o + "/access-check?permission=org.read", "", "user_id"},
			{"GET", o + "/access-check?user_id=" + userID.String() + "&permission=org.read&project_id=7", "", "project_id"},
			{"POST", o + "/role-bindings", `{"user_id":"nope","role":"viewer"}`, "user_id"},
			{"POST", o + "/role-bindings", `{"role":"viewer"}`, "user_id"},
			{"POST", o + "/role-bindings", `{"user_id":"` + userID.String() + `","role":"viewer","project_id":"x"}`, "project_id"},
			{"POST", o + "/role-bindings", `{"user_id":7,"role":"viewer"}`, "user_id"},
		} {
			h := newHarness(t).authOK()
			wantError(t, h.do(request{method: c.method, path: c.path, body: c.body}), 400, "invalid", c.field)
		}
	})
}

func TestPatchLeavesAbsentFieldsUnchanged(t *testing.T) {
	for _, c := range []struct {
		body string
		want repo.ProjectUpdate
	}{
		{`{}`, repo.ProjectUpdate{}},
		{`{"name":"gemini"}`, repo.ProjectUpdate{Name: ptr("gemini")}},
		{`{"description":null}`, repo.ProjectUpdate{}},
		{`{"name":"gemini","description":""}`, repo.ProjectUpdate{Name: ptr("gemini"), Description: ptr("")}},
	} {
		h := newHarness(t).authOK()
		h.rec.UpdateProject(any_, principal, "acme", projectID, c.want).Return(project, nil)
		w := h.do(request{method: "PATCH", path: "/v1/orgs/acme/projects/" + projectID.String(), body: c.body})
		if w.Code != 200 {
			t.Errorf("%s: status = %d: %s", c.body, w.Code, w.Body)
		}
	}
	t.Run("org", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.UpdateOrg(any_, principal, "acme", repo.OrgUpdate{Region: ptr("eu-west")}).Return(org, nil)
		if w := h.do(request{method: "PATCH", path: "/v1/orgs/acme", body: `{"region":"eu-west"}`}); w.Code != 200 {
			t.Errorf("status = %d: %s", w.Code, w.Body)
		}
	})
}

func TestResourceJSON(t *testing.T) {
	h := newHarness(t).authOK()
	h.rec.GetProject(any_, principal, "acme", projectID).Return(project, nil)
	got := decodeBody[map[string]any](t, h.get("/v1/orgs/acme/projects/"+projectID.String()).Body.Bytes())
	want := map[string]any{
		"id": projectID.String(), "name": "apollo", "description": "moon",
		"created_at": "2026-01-02T03:04:05Z", "updated_at": "2026-01-02T03:04:05Z",
	}
	if len(got) != len(want) {
		t.Errorf("project = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestAPIKeysNeverShowSecretsButOnCreation(t *testing.T) {
	h := newHarness(t).authOK()
	h.rec.ListAPIKeys(any_, principal, "acme", repo.PageRequest{}).Return(repo.Page[repo.APIKey]{Items: []repo.APIKey{apiKey}}, nil)
	h.rec.CreateAPIKey(any_, principal, "acme", service.NewAPIKey{Name: "ci"}).Return(newKey, nil)

	body := h.get("/v1/orgs/acme/api-keys").Body.String()
	for _, leak := range []string{"secret", "hash", "abababab", `"key"`} {
		if strings.Contains(body, leak) {
			t.Errorf("the key list shows %q: %s", leak, body)
		}
	}
	w := h.do(request{method: "POST", path: "/v1/orgs/acme/api-keys", body: `{"name":"ci"}`})
	created := decodeBody[map[string]any](t, w.Body.Bytes())
	if w.Code != 201 || created["key"] != newKey.Secret || created["expires_at"] != "2030-01-02T03:04:05Z" {
		t.Errorf("created key: %d %v", w.Code, created)
	}
	if strings.Contains(w.Body.String(), "hash") || strings.Contains(w.Body.String(), "abababab") {
		t.Errorf("the new key shows its hash: %s", w.Body)
	}

	for _, bad := range []string{`{"name":"ci","expires_at":"tomorrow"}`, `{"name":"ci","expires_at":"2030-01-02"}`, `{"name":"ci","expires_at":5}`} {
		wantError(t, h.do(request{method: "POST", path: "/v1/orgs/acme/api-keys", body: bad}), 400, "invalid", "expires_at")
	}
}

func TestLists(t *testing.T) {
	t.Run("page in, page out", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.ListProjects(any_, principal, "acme", repo.PageRequest{Limit: 1, Cursor: "abc"}).
			Return(repo.Page[repo.Project]{Items: []repo.Project{project}, Next: "def"}, nil)
		got := decodeBody[struct {
			Items      []map[string]any `json:"items"`
			NextCursor string           `json:"next_cursor"`
		}](t, h.get("/v1/orgs/acme/projects?limit=1&cursor=abc").Body.Bytes())
		if len(got.Items) != 1 || got.Items[0]["name"] != "apollo" || got.NextCursor != "def" {
			t.Errorf("page = %+v", got)
		}
	})
	t.Run("empty is an empty array", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.ListRoles(any_, principal, "acme", repo.PageRequest{}).Return(repo.Page[repo.Role]{}, nil)
		if body := strings.TrimSpace(h.get("/v1/orgs/acme/roles").Body.String()); body != `{"items":[],"next_cursor":""}` {
			t.Errorf("body = %s", body)
		}
	})
	t.Run("bad limits", func(t *testing.T) {
		h := newHarness(t).authOK()
		for _, l := range []string{"x", "-1", "1.5", "99999999999999999999"} {
			wantError(t, h.get("/v1/orgs/acme/members?limit="+l), 400, "invalid", "limit")
		}
	})
}

func TestAuditFilters(t *testing.T) {
	since, until := "2026-01-01T00:00:00Z", "2026-02-01T00:00:00+01:00"
	want := repo.AuditFilter{
		ActorID: userID.String(), Action: "project.create", TargetType: "project", TargetID: projectID.String(),
		Outcome: repo.OutcomeDenied, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC),
	}
	q := "?actor_id=" + userID.String() + "&action=project.create&target_type=project&target_id=" + projectID.String() +
		"&outcome=denied&since=" + since + "&until=" + strings.ReplaceAll(until, "+", "%2B")
	t.Run("list, newest first by default", func(t *testing.T) {
		h := newHarness(t).authOK()
		f := want
		f.Descending = true
		h.rec.ListAuditEvents(any_, principal, "acme", f, repo.PageRequest{Limit: 5}).Return(repo.Page[repo.AuditEvent]{}, nil)
		if w := h.get("/v1/orgs/acme/audit-events" + q + "&limit=5"); w.Code != 200 {
			t.Fatalf("status = %d: %s", w.Code, w.Body)
		}
	})
	t.Run("list, oldest first", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.ListAuditEvents(any_, principal, "acme", repo.AuditFilter{}, repo.PageRequest{}).Return(repo.Page[repo.AuditEvent]{}, nil)
		if w := h.get("/v1/orgs/acme/audit-events?order=asc"); w.Code != 200 {
			t.Fatalf("status = %d: %s", w.Code, w.Body)
		}
	})
	t.Run("export, oldest first by default", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.ExportAudit(any_, principal, "acme", service.JSONL, want, any_).Return(int64(0), nil)
		if w := h.get("/v1/orgs/acme/audit-events/export" + q); w.Code != 200 {
			t.Fatalf("status = %d: %s", w.Code, w.Body)
		}
	})
	for _, c := range []struct{ query, field string }{
		{"?outcome=maybe", "outcome"},
		{"?since=yesterday", "since"},
		{"?until=2026-01-01", "until"},
		{"?order=up", "order"},
	} {
		t.Run("bad "+c.field, func(t *testing.T) {
			h := newHarness(t).authOK()
			wantError(t, h.get("/v1/orgs/acme/audit-events"+c.query), 400, "invalid", c.field)
			wantError(t, h.get("/v1/orgs/acme/audit-events/export"+c.query), 400, "invalid", c.field)
		})
	}
	t.Run("event JSON", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.ListAuditEvents(any_, principal, "acme", gomock.Any(), gomock.Any()).Return(repo.Page[repo.AuditEvent]{Items: []repo.AuditEvent{event}}, nil)
		got := decodeBody[struct {
			Items []map[string]any `json:"items"`
		}](t, h.get("/v1/orgs/acme/audit-events").Body.Bytes())
		ev := got.Items[0]
		if ev["seq"] != 7.0 || ev["hash"] != strings.Repeat("01", 32) || ev["prev_hash"] != strings.Repeat("00", 32) ||
			ev["occurred_at"] != "2026-01-02T03:04:05Z" || ev["outcome"] != "success" {
			t.Errorf("event = %v", ev)
		}
		if meta, ok := ev["metadata"].(map[string]any); !ok || meta["after"] == nil {
			t.Errorf("metadata = %#v, want the JSON object", ev["metadata"])
		}
	})
}

func TestVerifyReportJSON(t *testing.T) {
	h := newHarness(t).authOK()
	h.rec.VerifyAudit(any_, principal, "acme").Return(report, nil)
	got := decodeBody[map[string]any](t, h.get("/v1/orgs/acme/audit-events/verify").Body.Bytes())
	want := map[string]any{"ok": true, "events": 7.0, "first_bad": 0.0, "reason": "", "message": "", "last_seq": 7.0,
		"last_hash": strings.Repeat("cd", 32), "pending": 0.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("report = %v", got)
	}
}

func TestAccessCheckJSON(t *testing.T) {
	h := newHarness(t).authOK()
	h.rec.CheckAccess(any_, principal, "acme", userID, "projects.delete", nil).Return(allowed, nil)
	got := decodeBody[map[string]any](t, h.get("/v1/orgs/acme/access-check?user_id="+userID.String()+"&permission=projects.delete").Body.Bytes())
	if got["allowed"] != true || got["role"] != "admin" || got["binding_id"] != bindingID.String() || got["reason"] == "" {
		t.Errorf("decision = %v", got)
	}
}

func TestExportStreams(t *testing.T) {
	lines := []string{`{"seq":1}` + "\n", `{"seq":2}` + "\n"}
	for _, c := range []struct {
		format  service.ExportFormat
		query   string
		ctype   string
		content string
	}{
		{service.JSONL, "", "application/x-ndjson", strings.Join(lines, "")},
		{service.JSONL, "?format=jsonl", "application/x-ndjson", strings.Join(lines, "")},
		{service.CSV, "?format=csv", "text/csv; charset=utf-8", "org_id,seq\nx,1\n"},
	} {
		t.Run(string(c.format)+c.query, func(t *testing.T) {
			h := newHarness(t).authOK()
			h.rec.ExportAudit(any_, principal, "acme", c.format, repo.AuditFilter{}, any_).DoAndReturn(
				func(_ context.Context, _ service.Principal, _ string, _ service.ExportFormat, _ repo.AuditFilter, w io.Writer) (int64, error) {
					n, err := io.WriteString(w, c.content)
					return int64(n), err
				})
			srv := httptest.NewServer(h.handler)
			defer srv.Close()
			res := clientGet(t, srv.URL+"/v1/orgs/acme/audit-events/export"+c.query)
			body, err := io.ReadAll(res.Body)
			if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != c.ctype || string(body) != c.content {
				t.Errorf("export: %d %q %q %v", res.StatusCode, res.Header.Get("Content-Type"), body, err)
			}
			if !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
				t.Errorf("Content-Disposition = %q", res.Header.Get("Content-Disposition"))
			}
		})
	}
	t.Run("unknown format", func(t *testing.T) {
		h := newHarness(t).authOK()
		wantError(t, h.get("/v1/orgs/acme/audit-events/export?format=xml"), 400, "invalid", "format")
	})
	t.Run("error before the first byte is a JSON error", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.ExportAudit(any_, principal, "acme", service.JSONL, repo.AuditFilter{}, any_).Return(int64(0), repo.Forbidden("missing permission audit.read"))
		wantError(t, h.get("/v1/orgs/acme/audit-events/export"), 403, "forbidden", "")
	})
	t.Run("error after the first byte cuts the answer off", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.ExportAudit(any_, principal, "acme", service.JSONL, repo.AuditFilter{}, any_).DoAndReturn(
			func(_ context.Context, _ service.Principal, _ string, _ service.ExportFormat, _ repo.AuditFilter, w io.Writer) (int64, error) {
				n, _ := io.WriteString(w, lines[0])
				w.(http.Flusher).Flush()
				return int64(n), &repo.Error{Kind: repo.ErrUnavailable, Message: "connection lost"}
			})
		srv := httptest.NewServer(h.handler)
		defer srv.Close()
		res := clientGet(t, srv.URL+"/v1/orgs/acme/audit-events/export")
		body, err := io.ReadAll(res.Body)
		if res.StatusCode != 200 || err == nil {
			t.Errorf("status %d, body %q, read error %v: want 200 and a body cut short", res.StatusCode, body, err)
		}
		if !strings.Contains(h.logs.String(), "connection lost") {
			t.Errorf("the failure is not logged:\n%s", h.logs)
		}
	})
}

// clientGet GETs url with the test key.
func clientGet(t *testing.T, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("X-Request-ID", testRequestID)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestPanicsBecomeGeneric500s(t *testing.T) {
	h := newHarness(t).authOK()
	h.rec.GetOrg(any_, principal, "acme").DoAndReturn(func(context.Context, service.Principal, string) (repo.Org, error) {
		panic("nil map write in handler internals")
	})
	w := h.get("/v1/orgs/acme")
	e := wantError(t, w, 500, "internal", "")
	if strings.Contains(w.Body.String(), "nil map") || strings.Contains(w.Body.String(), "goroutine") || e.Error.Message != "internal error" {
		t.Errorf("the client sees the panic: %s", w.Body)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "nil map write") || !strings.Contains(logs, "handler panicked") {
		t.Errorf("the panic is not logged:\n%s", logs)
	}
	if !strings.Contains(logs, `"status":500`) {
		t.Errorf("the access log does not show the 500:\n%s", logs)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	h := newHarness(t)
	if w := h.get("/healthz"); w.Code != 200 || !strings.Contains(w.Body.String(), "ok") {
		t.Errorf("healthz: %d %s", w.Code, w.Body)
	}
	if w := h.get("/readyz"); w.Code != 200 {
		t.Errorf("readyz: %d %s", w.Code, w.Body)
	}
	down := newHarness(t, func(c *httpapi.Config) {
		c.DB = pingFunc(func(context.Context) error { return errors.New("dial tcp 10.0.0.1:5432: connection refused") })
	})
	wantError(t, down.get("/readyz"), 503, "unavailable", "")
	if !strings.Contains(down.logs.String(), "connection refused") {
		t.Errorf("the ping failure is not logged:\n%s", down.logs)
	}
	none := newHarness(t, func(c *httpapi.Config) { c.DB = nil })
	wantError(t, none.get("/readyz"), 503, "unavailable", "")
}

func TestWithoutAServiceV1IsUnavailable(t *testing.T) {
	h := newHarness(t, func(c *httpapi.Config) { c.Service = nil })
	wantError(t, h.get("/v1/orgs/acme"), 503, "unavailable", "")
	if w := h.get("/healthz"); w.Code != 200 {
		t.Errorf("healthz: %d", w.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t).authOK()
	h.rec.GetOrg(any_, principal, "acme").Return(org, nil)
	for _, path := range []string{"/v1/orgs/acme", "/healthz", "/metrics", "/openapi.json", "/nope"} {
		w := h.get(path)
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", path, w.Header().Get("X-Content-Type-Options"))
		}
		wantCache := ""
		if strings.HasPrefix(path, "/v1/") {
			wantCache = "no-store"
		}
		if got := w.Header().Get("Cache-Control"); got != wantCache {
			t.Errorf("%s: Cache-Control = %q, want %q", path, got, wantCache)
		}
	}
}

func TestUnroutedRequestsGetJSONErrors(t *testing.T) {
	h := newHarness(t)
	wantError(t, h.get("/nope"), 404, "not_found", "")
	wantError(t, h.get("/v1/orgs/acme/widgets"), 404, "not_found", "")
	w := h.do(request{method: "POST", path: "/v1/orgs/acme/audit-events", body: `{}`})
	wantError(t, w, 405, "method_not_allowed", "")
	if allow := w.Header().Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q", allow)
	}
}

func TestAccessLog(t *testing.T) {
	h := newHarness(t).authOK()
	h.rec.GetProject(any_, principal, "acme", projectID).Return(project, nil)
	h.get("/v1/orgs/acme/projects/" + projectID.String())
	logs := h.logs.String()
	for _, want := range []string{`"msg":"http request"`, `"method":"GET"`, `"route":"/v1/orgs/{org}/projects/{id}"`, `"status":200`, `"request_id":"req-1"`, `"duration":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "Bearer") || strings.Contains(logs, "Authorization") {
		t.Errorf("access log shows the Authorization header:\n%s", logs)
	}
}
