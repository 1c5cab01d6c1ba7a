package client_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http/httptest"

	"github.com/google/uuid"
	"github.com/strata-go/strata"
	"github.com/strata-go/strata/client"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/service"
)

// Create a project and read the audit trail as the org's owner.
func Example() {
	ctx := context.Background()
	url, key := startStrata() // a Strata server and its first org's owner key
	c, err := client.NewClientWithResponses(url, client.WithRequestEditorFn(client.BearerAuth(key)))
	if err != nil {
		log.Fatal(err)
	}
	retryKey := uuid.NewString() // the same key on every retry: one project, one audit event
	created, err := c.CreateProjectWithResponse(ctx, "acme", &client.CreateProjectParams{IdempotencyKey: &retryKey},
		client.ProjectInput{Name: "apollo"})
	if err != nil || created.JSON201 == nil {
		log.Fatalf("create: %v %s", err, created.Body)
	}
	again, err := c.CreateProjectWithResponse(ctx, "acme", &client.CreateProjectParams{IdempotencyKey: &retryKey},
		client.ProjectInput{Name: "apollo"})
	if err != nil || again.JSON201 == nil || again.JSON201.Id != created.JSON201.Id {
		log.Fatalf("retry: %v %s", err, again.Body)
	}
	trail, err := c.ListAuditEventsWithResponse(ctx, "acme", &client.ListAuditEventsParams{})
	if err != nil || trail.JSON200 == nil {
		log.Fatalf("audit: %v %s", err, trail.Body)
	}
	fmt.Println(created.JSON201.Name, len(trail.JSON200.Items), trail.JSON200.Items[0].Action)
	// Output: apollo 2 project.create
}

// startStrata serves Strata's API on an in-memory SQLite database, with
// the org acme, and returns its URL and the owner's API key (what
// `strata serve` prints on its first start).
func startStrata() (url, key string) {
	ctx := context.Background()
	db, err := strata.Open(ctx, "sqlite::memory:")
	if err != nil {
		log.Fatal(err)
	}
	if err := strata.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}
	svc := service.New(db, rbac.New(db.RoleBindings(), rbac.Options{}), service.Options{})
	_, k, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: "acme", Email: "admin@example.com"}, service.Request{})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{DB: db, Service: svc, Log: slog.New(slog.DiscardHandler)}))
	return srv.URL, k.Secret
}
