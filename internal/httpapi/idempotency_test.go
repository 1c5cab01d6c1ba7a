package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// keyed returns principal with an idempotency key and the fingerprint of
// method path body.
func keyed(key, method, path, body string) service.Principal {
	p := principal
	p.IdempotencyKey, p.Fingerprint = key, sha256.Sum256([]byte(method+" "+path+"\n"+body))
	return p
}

func TestIdempotencyKeyReachesTheService(t *testing.T) {
	const path, body = "/v1/orgs/acme/projects", `{"name":"apollo"}`
	for _, c := range []struct{ name, header, key string }{
		{"bare", "8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{"structured-field string", `"8e03978e-40d5-43e8-bc93-6894a57f9324"`, "8e03978e-40d5-43e8-bc93-6894a57f9324"},
		{"escapes and spaces", ` "a \"quoted\" \\ key" `, `a "quoted" \ key`},
		{"255 characters", strings.Repeat("k", 255), strings.Repeat("k", 255)},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t).authOK()
			h.rec.CreateProject(any_, keyed(c.key, "POST", path, body), "acme", repo.NewProject{Name: "apollo"}).Return(project, nil)
			w := h.do(request{method: "POST", path: path, body: body, header: http.Header{"Idempotency-Key": {c.header}}})
			if w.Code != 201 {
				t.Fatalf("status = %d: %s", w.Code, w.Body)
			}
		})
	}
	t.Run("every mutating method", func(t *testing.T) {
		h := newHarness(t).authOK()
		id := project.ID
		h.rec.UpdateProject(any_, keyed("k", "PATCH", "/v1/orgs/acme/projects/"+id.String(), `{"name":"x"}`), "acme", id, any_).Return(project, nil)
		h.rec.DeleteProject(any_, keyed("k", "DELETE", "/v1/orgs/acme/projects/"+id.String(), ""), "acme", id).Return(nil)
		h.rec.UpdateRole(any_, keyed("k", "PUT", "/v1/orgs/acme/roles/dev", `{"permissions":["a.b"]}`), "acme", "dev", any_).Return(repo.Role{}, nil)
		for _, r := range []request{
			{method: "PATCH", path: "/v1/orgs/acme/projects/" + id.String(), body: `{"name":"x"}`},
			{method: "DELETE", path: "/v1/orgs/acme/projects/" + id.String()},
			{method: "PUT", path: "/v1/orgs/acme/roles/dev", body: `{"permissions":["a.b"]}`},
		} {
			r.header = http.Header{"Idempotency-Key": {"k"}}
			if w := h.do(r); w.Code >= 300 {
				t.Errorf("%s %s: %d %s", r.method, r.path, w.Code, w.Body)
			}
		}
	})
	t.Run("reads ignore it", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.ListProjects(any_, principal, "acme", any_).Return(repo.Page[repo.Project]{}, nil)
		if w := h.do(request{method: "GET", path: path, header: http.Header{"Idempotency-Key": {"k"}}}); w.Code != 200 {
			t.Fatalf("status = %d: %s", w.Code, w.Body)
		}
	})
}

func TestMalformedIdempotencyKey(t *testing.T) {
	for _, c := range []struct {
		name   string
		values []string
	}{
		{"empty", []string{""}},
		{"empty string", []string{`""`}},
		{"unterminated", []string{`"abc`}},
		{"after the quote", []string{`"abc"def`}},
		{"bad escape", []string{`"a\b"`}},
		{"space in a token", []string{"a b"}},
		{"not ASCII", []string{"clé"}},
		{"control character", []string{"\"a\x01b\""}},
		{"too long", []string{strings.Repeat("k", 256)}},
		{"two keys", []string{"a", "b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t).authOK() // the strict mock: the service must not be called
			w := h.do(request{method: "POST", path: "/v1/orgs/acme/projects", body: `{"name":"apollo"}`,
				header: http.Header{"Idempotency-Key": c.values}})
			wantError(t, w, 400, "invalid", "Idempotency-Key")
		})
	}
	t.Run("body over the limit", func(t *testing.T) {
		h := newHarness(t, withMaxBody(16)).authOK()
		w := h.do(request{method: "POST", path: "/v1/orgs/acme/projects", body: `{"name":"` + strings.Repeat("x", 32) + `"}`,
			header: http.Header{"Idempotency-Key": {"k"}}})
		wantError(t, w, 413, "too_large", "")
	})
}

func TestIdempotencyErrors(t *testing.T) {
	const path, body = "/v1/orgs/acme/projects", `{"name":"apollo"}`
	t.Run("in flight: 409 with Retry-After", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.CreateProject(any_, any_, "acme", any_).Return(repo.Project{}, repo.KeyInFlight())
		w := h.do(request{method: "POST", path: path, body: body, header: http.Header{"Idempotency-Key": {"k"}}})
		wantError(t, w, 409, "idempotency_key_in_flight", "Idempotency-Key")
		if w.Header().Get("Retry-After") == "" {
			t.Errorf("no Retry-After")
		}
	})
	t.Run("reused: 422", func(t *testing.T) {
		h := newHarness(t).authOK()
		h.rec.CreateProject(any_, any_, "acme", any_).Return(repo.Project{},
			&repo.Error{Kind: repo.ErrInvalid, Field: "Idempotency-Key", Message: "reused", Err: service.ErrKeyReused})
		w := h.do(request{method: "POST", path: path, body: body, header: http.Header{"Idempotency-Key": {"k"}}})
		wantError(t, w, 422, "idempotency_key_reused", "Idempotency-Key")
	})
}

// TestIdempotentRetriesEndToEnd sends every mutating route twice under
// one key, on both dialects: the retry gets the first answer byte for byte
// (status, body, and a consistency token when the first had one)
// and leaves no second audit event.
func TestIdempotentRetriesEndToEnd(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorldWith(t, worldOptions{dialect: d})
			n := 0
			// twice sends method path body under a fresh key, then again,
			// and returns the first answer.
			twice := func(status int, method, path, body string) answer {
				t.Helper()
				n++
				key := fmt.Sprintf(`"key-%d"`, n)
				before := w.head(w.org.ID)
				first := w.sendWith(w.ownerKey, method, path, body, http.Header{httpapi.IdempotencyKeyHeader: {key}})
				if first.status != status {
					t.Fatalf("%s %s: %d %s, want %d", method, path, first.status, first.body, status)
				}
				again := w.sendWith(w.ownerKey, method, path, body, http.Header{httpapi.IdempotencyKeyHeader: {key}})
				if again.status != first.status || !bytes.Equal(again.body, first.body) {
					t.Errorf("%s %s retried: %d %s\nfirst answer: %d %s", method, path, again.status, again.body, first.status, first.body)
				}
				if tok := first.header.Get(httpapi.TokenHeader); (again.header.Get(httpapi.TokenHeader) != "") != (tok != "") {
					t.Errorf("%s %s: tokens %q then %q", method, path, tok, again.header.Get(httpapi.TokenHeader))
				}
				if events := w.head(w.org.ID) - before; events != 1 {
					t.Errorf("%s %s twice under one key: %d audit events, want 1", method, path, events)
				}
				// The same key with another request: refused, no change.
				if method != "DELETE" {
					other := w.sendWith(w.ownerKey, method, path, strings.TrimSuffix(body, "}")+" }", http.Header{httpapi.IdempotencyKeyHeader: {key}})
					if other.status != 422 || w.head(w.org.ID)-before != 1 {
						t.Errorf("%s %s with the key of another request: %d %s", method, path, other.status, other.body)
					}
				}
				return first
			}
			id := func(a answer, field string) string {
				var m map[string]any
				if err := json.Unmarshal(a.body, &m); err != nil {
					t.Fatal(err)
				}
				return fmt.Sprint(m[field])
			}
			const o = "/v1/orgs/acme"
			twice(200, "PATCH", o, `{"name":"Acme Rockets"}`)
			user := id(twice(201, "POST", o+"/members", `{"email":"mia@acme.test","role":"viewer"}`), "user_id")
			twice(201, "POST", o+"/roles", `{"name":"deployer","permissions":["projects.read"]}`)
			twice(200, "PUT", o+"/roles/deployer", `{"permissions":["projects.read","projects.update"]}`)
			project := id(twice(201, "POST", o+"/projects", `{"name":"apollo"}`), "id")
			twice(200, "PATCH", o+"/projects/"+project, `{"description":"to the moon"}`)
			binding := id(twice(201, "POST", o+"/role-bindings", fmt.Sprintf(`{"user_id":%q,"role":"deployer","project_id":%q}`, user, project)), "id")
			key := id(twice(201, "POST", o+"/api-keys", fmt.Sprintf(`{"name":"mia's","user_id":%q}`, user)), "id")
			twice(204, "DELETE", o+"/api-keys/"+key, "")
			twice(204, "DELETE", o+"/role-bindings/"+binding, "")
			twice(204, "DELETE", o+"/roles/deployer", "")
			twice(204, "DELETE", o+"/members/"+user, "")
			twice(204, "DELETE", o+"/projects/"+project, "")
			if n != 13 {
				t.Errorf("%d mutating routes tried, want 13", n)
			}
		})
	}
}

// sendWith is call with more request headers.
func (w *world) sendWith(key, method, path, body string, header http.Header) answer {
	w.t.Helper()
	req, err := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return w.do(req)
}

// TestOpenAPIDocumentsIdempotencyKey checks that every mutating operation
// declares the Idempotency-Key header and its 409 and 422 answers, and
// reads none.
func TestOpenAPIDocumentsIdempotencyKey(t *testing.T) {
	_, doc := fetchOpenAPI(t)
	param, ok := doc.Components.Parameters["idempotency_key"]
	if !ok || param.Name != httpapi.IdempotencyKeyHeader || param.In != "header" || param.Required {
		t.Fatalf("components.parameters.idempotency_key = %+v", param)
	}
	mutating := 0
	for path, item := range doc.Paths {
		for method, raw := range item {
			var op openAPIOp
			if !slices.Contains(httpMethods, method) || json.Unmarshal(raw, &op) != nil {
				continue
			}
			declared := false
			for _, p := range op.Parameters {
				declared = declared || p.Ref == "#/components/parameters/idempotency_key"
			}
			name := strings.ToUpper(method) + " " + path
			switch method {
			case "post", "put", "patch", "delete":
				mutating++
				_, conflict := op.Responses["409"]
				_, reused := op.Responses["422"]
				if !declared || !conflict || !reused {
					t.Errorf("%s: Idempotency-Key declared %v, 409 %v, 422 %v; want all", name, declared, conflict, reused)
				}
			default:
				if declared {
					t.Errorf("%s, a read, declares Idempotency-Key", name)
				}
			}
		}
	}
	want := 0
	for _, r := range httpapi.Routes() {
		if !strings.HasPrefix(r, "GET ") {
			want++
		}
	}
	if mutating != want {
		t.Errorf("%d mutating operations documented, %d routed", mutating, want)
	}
}
