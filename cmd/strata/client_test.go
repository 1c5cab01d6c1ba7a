package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/strata-go/strata/client"
)

// TestWalkThroughThroughTheClient drives the README walk-through's calls
// through the generated client (package client) against a server on each
// dialect: the org, a project, a member with the role member and a key of
// their own, their update (allowed) and delete (403, audited), the audit
// trail and its verification.
func TestWalkThroughThroughTheClient(t *testing.T) {
	for name, dbURL := range map[string]string{
		"sqlite":   "sqlite:" + filepath.Join(t.TempDir(), "strata.db"),
		"postgres": emptyPostgres(t),
	} {
		t.Run(name, func(t *testing.T) {
			var log lockedBuffer
			lc, stop := serveInProcess(t, dbURL, &log)
			defer stop()
			ctx := t.Context()
			owner := newClient(t, lc.Base, lc.Key)

			org, err := owner.GetOrgWithResponse(ctx, "acme")
			if err != nil || org.JSON200 == nil || org.JSON200.Slug != "acme" {
				t.Fatalf("get org: %v %d %s", err, org.StatusCode(), org.Body)
			}
			desc := "our first project"
			created, err := owner.CreateProjectWithResponse(ctx, "acme", nil, client.ProjectInput{Name: "apollo", Description: &desc})
			if err != nil || created.JSON201 == nil || created.JSON201.Name != "apollo" {
				t.Fatalf("create project: %v %d %s", err, created.StatusCode(), created.Body)
			}
			project := created.JSON201.Id
			adaName, member := "Ada", "member"
			ada, err := owner.AddMemberWithResponse(ctx, "acme", nil, client.MemberInput{Email: "ada@example.com", Name: &adaName, Role: &member})
			if err != nil || ada.JSON201 == nil {
				t.Fatalf("add member: %v %d %s", err, ada.StatusCode(), ada.Body)
			}
			keyName, adaID := "ada", ada.JSON201.UserId
			key, err := owner.CreateAPIKeyWithResponse(ctx, "acme", nil, client.APIKeyInput{Name: &keyName, UserId: &adaID})
			if err != nil || key.JSON201 == nil || key.JSON201.UserId != adaID {
				t.Fatalf("mint key: %v %d %s", err, key.StatusCode(), key.Body)
			}

			asAda := newClient(t, lc.Base, key.JSON201.Key)
			edited := "edited by Ada"
			upd, err := asAda.UpdateProjectWithResponse(ctx, "acme", project, nil, client.ProjectPatch{Description: &edited})
			if err != nil || upd.JSON200 == nil || upd.JSON200.Description != edited {
				t.Fatalf("update as Ada: %v %d %s", err, upd.StatusCode(), upd.Body)
			}
			del, err := asAda.DeleteProjectWithResponse(ctx, "acme", project, nil)
			if err != nil || del.StatusCode() != 403 || del.JSON403 == nil || del.JSON403.Error.Code != "forbidden" {
				t.Fatalf("delete as Ada: %v %d %s, want 403 forbidden", err, del.StatusCode(), del.Body)
			}

			trail, err := owner.ListAuditEventsWithResponse(ctx, "acme", &client.ListAuditEventsParams{})
			if err != nil || trail.JSON200 == nil {
				t.Fatalf("audit events: %v %d %s", err, trail.StatusCode(), trail.Body)
			}
			var got []string
			for _, e := range trail.JSON200.Items {
				got = append(got, e.Action+" "+string(e.Outcome))
			}
			for _, want := range []string{"project.delete denied", "project.update success", "api_key.create success", "member.add success", "project.create success"} {
				if !slices.Contains(got, want) {
					t.Errorf("the audit trail lacks %q: %v", want, got)
				}
			}
			if got[0] != "project.delete denied" {
				t.Errorf("newest event %q, want the denied delete first", got[0])
			}
			verify, err := owner.VerifyAuditWithResponse(ctx, "acme")
			if err != nil || verify.JSON200 == nil || !verify.JSON200.Ok || verify.JSON200.Events < 5 {
				t.Fatalf("verify: %v %d %s", err, verify.StatusCode(), verify.Body)
			}
		})
	}
}

// newClient returns a client of the API at base acting with key.
func newClient(t *testing.T, base, key string) *client.ClientWithResponses {
	t.Helper()
	c, err := client.NewClientWithResponses(base, client.WithRequestEditorFn(client.BearerAuth(key)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
