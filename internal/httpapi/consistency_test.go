package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling"
	"github.com/strata-go/strata/service"
)

func TestConsistencyHeadersAreRefusedWhenMalformed(t *testing.T) {
	for _, c := range []struct{ header, value string }{
		{httpapi.TokenHeader, "not-a-token"},
		{httpapi.TokenHeader, "%%%"},
		{httpapi.ConsistencyHeader, "linearizable"},
		{httpapi.ConsistencyHeader, "max-staleness=soon"},
		{httpapi.ConsistencyHeader, "max-staleness=-1s"},
	} {
		h := newHarness(t) // nothing may reach the service
		w := h.do(request{method: "GET", path: "/v1/orgs/acme", header: http.Header{c.header: {c.value}}})
		wantError(t, w, 400, "invalid", c.header)
	}
}

func TestConsistencyReachesTheService(t *testing.T) {
	tok := scaling.TokenAt(0x16B3748)
	for _, c := range []struct {
		name   string
		header http.Header
		want   scaling.Consistency
	}{
		{"default", nil, scaling.Eventual()},
		{"strong", http.Header{httpapi.ConsistencyHeader: {"strong"}}, scaling.Strong()},
		{"bounded", http.Header{httpapi.ConsistencyHeader: {"max-staleness=5s"}}, scaling.BoundedStaleness(5 * time.Second)},
		{"causal", http.Header{httpapi.TokenHeader: {tok.String()}}, scaling.Causal(tok)},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t).authOK()
			h.rec.GetOrg(any_, principal, "acme").DoAndReturn(func(ctx context.Context, _ service.Principal, _ string) (repo.Org, error) {
				if got := scaling.ConsistencyFrom(ctx); got != c.want {
					t.Errorf("consistency = %+v, want %+v", got, c.want)
				}
				return org, nil
			})
			if w := h.do(request{method: "GET", path: "/v1/orgs/acme", header: c.header}); w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
		})
	}
}

func TestWriteResponsesCarryTheirToken(t *testing.T) {
	tok := scaling.TokenAt(0xABCDEF)
	h := newHarness(t).authOK()
	h.rec.CreateProject(any_, principal, "acme", any_).DoAndReturn(
		func(ctx context.Context, _ service.Principal, _ string, in repo.NewProject) (repo.Project, error) {
			scaling.RecordToken(ctx, tok) // what the adapter does after its commit
			return repo.Project{Name: in.Name}, nil
		})
	w := h.do(request{method: "POST", path: "/v1/orgs/acme/projects", body: `{"name":"apollo"}`})
	if w.Code != 201 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := w.Header().Get(httpapi.TokenHeader); got != tok.String() {
		t.Errorf("%s = %q, want %q", httpapi.TokenHeader, got, tok.String())
	}
	// A read that wrote nothing carries no token.
	h.rec.GetOrg(any_, principal, "acme").Return(org, nil)
	if got := h.get("/v1/orgs/acme").Header().Get(httpapi.TokenHeader); got != "" {
		t.Errorf("read response has a token %q", got)
	}
}
