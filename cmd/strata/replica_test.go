package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/pgtest"
)

// TestServeWithAReplicaReadsYourWrites runs the binary on a PostgreSQL
// primary with a streaming replica: every write response carries a
// consistency token, and a read that sends it back sees the write even while
// the replica is paused far behind; a malformed token is a 400.
func TestServeWithAReplicaReadsYourWrites(t *testing.T) {
	ctx := context.Background()
	primary := pgtest.NewCluster(t)
	replica := pgtest.NewReplica(t, primary)

	base, out, stop := serveOut(t, "--db", primary.URL("postgres"), "--migrate",
		"--replica", "local="+replica.URL("postgres"), "--region", "local")
	defer stop()
	m := firstStartKey.FindStringSubmatch(out())
	if m == nil {
		t.Fatalf("no first-start key:\n%s", out())
	}
	key := m[1]
	api := base + "/v1/orgs/acme"

	if err := replica.WaitForReplay(ctx); err != nil {
		t.Fatal(err)
	}
	if err := replica.PauseReplay(ctx); err != nil {
		t.Fatal(err)
	}
	defer replica.ResumeReplay(ctx)

	status, hdr, body := call(t, key, "POST", api+"/projects", `{"name":"apollo"}`, nil)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	tok := hdr.Get("Strata-Consistency-Token")
	if tok == "" {
		t.Fatal("the write response carries no Strata-Consistency-Token")
	}
	var p struct{ ID string }
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}

	// The replica has not replayed the insert; the token sends the read to a
	// node that has (the primary, after the causal wait).
	for i := 0; i < 3; i++ {
		status, _, body = call(t, key, "GET", api+"/projects/"+p.ID, "", http.Header{"Strata-Consistency-Token": {tok}})
		if status != http.StatusOK || !strings.Contains(body, "apollo") {
			t.Fatalf("causal read %d: %d %s", i, status, body)
		}
	}
	status, _, body = call(t, key, "GET", api+"/projects/"+p.ID, "", http.Header{"Strata-Consistency-Token": {"garbage"}})
	if status != http.StatusBadRequest || !strings.Contains(body, "Strata-Consistency-Token") {
		t.Errorf("malformed token: %d %s, want 400 naming the header", status, body)
	}
	// Routing is visible per node in /metrics.
	_, _, metrics := call(t, key, "GET", base+"/metrics", "", nil)
	if !strings.Contains(metrics, `role="replica"`) {
		t.Errorf("/metrics has no per-node routing metrics:\n%s", metrics)
	}
}

func call(t *testing.T, key, method, url, body string, header http.Header) (int, http.Header, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
