package httpapi_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
)

// TestEnvironmentsEndToEnd drives a project's environments through the API
// on both dialects: each mutation answers and leaves its audit event, a name
// taken in the project is a conflict, a binding on the project covers its
// environments and no other project's, and the environments go with their
// project. The repository's rules (names unique per project, tenancy,
// validation, paging) are the conformance suite's (repo/repotest), and
// every route's permission the authorization matrix's.
func TestEnvironmentsEndToEnd(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorldWith(t, worldOptions{dialect: d})
			key := w.ownerKey
			project := w.must(201, key, "POST", "/v1/orgs/acme/projects", `{"name":"apollo"}`).json(t)["id"].(string)
			other := w.must(201, key, "POST", "/v1/orgs/acme/projects", `{"name":"gemini"}`).json(t)["id"].(string)
			envs := "/v1/orgs/acme/projects/" + project + "/environments"

			before := w.head(w.org.ID)
			prod := w.must(201, key, "POST", envs, `{"name":"production","description":"live"}`).json(t)
			if prod["project_id"] != project || prod["name"] != "production" || prod["description"] != "live" {
				t.Errorf("created %v", prod)
			}
			id := prod["id"].(string)
			w.must(201, key, "POST", envs, `{"name":"staging"}`)
			w.must(409, key, "POST", envs, `{"name":"production"}`)
			if list := w.must(200, key, "GET", envs, "").json(t)["items"].([]any); len(list) != 2 {
				t.Errorf("list %v, want production and staging", list)
			}
			patched := w.must(200, key, "PATCH", envs+"/"+id, `{"name":"prod"}`).json(t)
			if patched["name"] != "prod" || patched["description"] != "live" {
				t.Errorf("patched %v", patched)
			}
			if got := w.must(200, key, "GET", envs+"/"+id, "").json(t); got["name"] != "prod" {
				t.Errorf("got %v after the patch", got)
			}
			// Not in another project, nor in one that does not exist.
			w.must(404, key, "GET", "/v1/orgs/acme/projects/"+other+"/environments/"+id, "")
			w.must(404, key, "POST", "/v1/orgs/acme/projects/"+uuid.NewString()+"/environments", `{"name":"x"}`)
			w.must(204, key, "DELETE", envs+"/"+id, "")
			w.must(404, key, "DELETE", envs+"/"+id, "")

			// A viewer given the member role on the project alone may
			// change its environments, and only see the other project's.
			viewer := w.addMember("viewer")
			w.must(201, key, "POST", "/v1/orgs/acme/role-bindings", `{"user_id":"`+viewer.String()+`","role":"member","project_id":"`+project+`"}`)
			vkey := w.keyFor(w.org.ID, viewer)
			w.must(201, vkey, "POST", envs, `{"name":"preview"}`)
			w.must(403, vkey, "POST", "/v1/orgs/acme/projects/"+other+"/environments", `{"name":"preview"}`)
			w.must(200, vkey, "GET", "/v1/orgs/acme/projects/"+other+"/environments", "")

			var actions []string
			for _, e := range w.eventsSince(w.org.ID, before) {
				if e.Outcome == repo.OutcomeSuccess && e.TargetType == "environment" {
					actions = append(actions, e.Action)
				}
			}
			want := []string{"environment.create", "environment.delete", "environment.update", "environment.create", "environment.create"}
			if !slices.Equal(actions, want) { // newest first
				t.Errorf("audit actions %v, want %v", actions, want)
			}

			w.must(204, key, "DELETE", "/v1/orgs/acme/projects/"+project, "")
			w.must(404, key, "GET", envs, "")
		})
	}
}
