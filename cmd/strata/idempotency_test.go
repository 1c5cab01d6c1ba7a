package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServePrunesIdempotencyKeys runs the server with a 1 s retention: a
// retry within it is a replay, and the stored answer is pruned after it.
func TestServePrunesIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	p := startProc(t, procOptions{}, "--db", "sqlite:"+filepath.Join(t.TempDir(), "strata.db"), "--idempotency-ttl", "1s")
	c := p.client(p.key, 10*time.Second)
	first := c.Do(ctx, "POST", "/v1/orgs/acme/projects", `{"name":"apollo"}`, "Idempotency-Key", "k1")
	again := c.Do(ctx, "POST", "/v1/orgs/acme/projects", `{"name":"apollo"}`, "Idempotency-Key", "k1")
	if first.Status != http.StatusCreated || again.Status != first.Status || string(again.Body) != string(first.Body) {
		t.Fatalf("a retry under the key: %v, then %v", first, again)
	}
	if !eventually(20*time.Second, func() bool { return strings.Contains(p.log.String(), "pruned idempotency keys") }) {
		t.Fatalf("no pruning within 20 s:\n%s", tail(p.log.String(), 20))
	}
	if code := p.terminate(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
}
