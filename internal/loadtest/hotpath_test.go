package loadtest_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/service"
)

// BenchmarkWarmGet measures an authenticated GET of a project through the
// whole handler stack in process (httpapi over the service over a real
// database), with the service's caches of API keys and orgs on (as strata
// serve runs) and off: off, authentication and the org lookup cost two
// more queries per request (the RBAC check is cached either way).
func BenchmarkWarmGet(b *testing.B) {
	for _, d := range testdb.Dialects {
		for _, c := range []struct {
			name string
			size int
		}{{"cached", 0}, {"uncached", -1}} {
			b.Run(string(d)+"/"+c.name, func(b *testing.B) {
				db := testdb.Open(b, d)
				authz := rbac.New(db.RoleBindings(), rbac.Options{Versions: db.Orgs(), MaxStaleness: time.Second})
				svc := service.New(db, authz, service.Options{CacheSize: c.size})
				_, key, err := svc.Bootstrap(b.Context(), service.BootstrapInput{OrgSlug: "acme", Email: "owner@example.com"}, service.Request{})
				if err != nil {
					b.Fatal(err)
				}
				h := httpapi.New(httpapi.Config{DB: db, Service: svc, Log: slog.New(slog.DiscardHandler)})
				do := func(method, path, body string) *httptest.ResponseRecorder {
					r := httptest.NewRequest(method, path, strings.NewReader(body))
					r.Header.Set("Authorization", "Bearer "+key.Secret)
					if body != "" {
						r.Header.Set("Content-Type", "application/json")
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					return w
				}
				w := do("POST", "/v1/orgs/acme/projects", `{"name":"apollo"}`)
				var p struct{ ID string }
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != http.StatusCreated {
					b.Fatalf("create: %d %s", w.Code, w.Body)
				}
				path := "/v1/orgs/acme/projects/" + p.ID
				do("GET", path, "")
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if w := do("GET", path, ""); w.Code != http.StatusOK {
						b.Fatalf("GET: %d %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}
