package repo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/strata-go/strata/repo"
)

func TestErrorKinds(t *testing.T) {
	cause := errors.New("driver said no")
	for _, kind := range []error{repo.ErrNotFound, repo.ErrConflict, repo.ErrInvalid, repo.ErrForbidden,
		repo.ErrUnauthenticated, repo.ErrUnavailable, repo.ErrInternal} {
		err := fmt.Errorf("wrapped: %w", &repo.Error{Kind: kind, Message: "m", Err: cause})
		if !errors.Is(err, kind) || repo.KindOf(err) != kind {
			t.Errorf("%v: errors.Is / KindOf do not see the kind", kind)
		}
		if !errors.Is(err, cause) {
			t.Errorf("%v: cause lost", kind)
		}
	}
	if repo.KindOf(errors.New("plain")) != repo.ErrInternal || repo.KindOf(nil) != nil {
		t.Error("KindOf of a foreign error must be ErrInternal, of nil nil")
	}
	err := repo.Invalid("email", "bad")
	if repo.FieldOf(err) != "email" || !strings.Contains(err.Error(), "email") {
		t.Errorf("Invalid does not name its field: %v", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	p := repo.RetryPolicy{MaxAttempts: 4}
	retryable := &repo.Error{Kind: repo.ErrConflict, Retryable: true}
	calls := 0
	err := p.Do(context.Background(), func() error { calls++; return retryable })
	if calls != 4 || !errors.Is(err, repo.ErrConflict) {
		t.Errorf("retryable: %d calls, err %v; want 4 calls and the last error", calls, err)
	}
	calls = 0
	err = p.Do(context.Background(), func() error { calls++; return repo.NotFound("x") })
	if calls != 1 || !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("not retryable: %d calls, want 1", calls)
	}
	calls = 0
	err = p.Do(context.Background(), func() error {
		calls++
		if calls < 3 {
			return retryable
		}
		return nil
	})
	if calls != 3 || err != nil {
		t.Errorf("success on third: %d calls, err %v", calls, err)
	}
}

func TestCursor(t *testing.T) {
	c := repo.EncodeCursor("projects", "abc")
	if key, err := repo.DecodeCursor("projects", c); err != nil || key != "abc" {
		t.Errorf("round trip: %q, %v", key, err)
	}
	for _, bad := range []string{"!!", repo.EncodeCursor("roles", "abc"), "djF8cHJvamVjdHM"} {
		if _, err := repo.DecodeCursor("projects", bad); !errors.Is(err, repo.ErrInvalid) || repo.FieldOf(err) != "cursor" {
			t.Errorf("DecodeCursor(%q) = %v, want invalid cursor", bad, err)
		}
	}
	sizes := map[int]int{0: repo.DefaultPageSize, 1: 1, repo.MaxPageSize + 1: repo.MaxPageSize}
	for in, want := range sizes {
		if got, err := (repo.PageRequest{Limit: in}).PageSize(); err != nil || got != want {
			t.Errorf("PageSize(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := (repo.PageRequest{Limit: -1}).PageSize(); repo.FieldOf(err) != "limit" {
		t.Errorf("negative limit: %v", err)
	}
}

func TestValidators(t *testing.T) {
	good := map[string]error{
		"slug":  repo.ValidateSlug("acme-2"),
		"email": repo.ValidateEmail("Ada.Lovelace+x@example.com"),
		"role":  repo.ValidateRoleName("release_managers"),
		"perms": repo.ValidatePermissionForm([]string{"*", "projects.*", "projects.update", "audit.read"}),
	}
	for name, err := range good {
		if err != nil {
			t.Errorf("%s: unexpected %v", name, err)
		}
	}
	bad := []struct {
		field string
		err   error
	}{
		{"slug", repo.ValidateSlug("")},
		{"slug", repo.ValidateSlug("Acme")},
		{"slug", repo.ValidateSlug("-acme")},
		{"slug", repo.ValidateSlug("acme-")},
		{"slug", repo.ValidateSlug(strings.Repeat("a", 64))},
		{"slug", repo.ValidateSlug("a'; DROP TABLE orgs;--")},
		{"email", repo.ValidateEmail("not-an-email")},
		{"email", repo.ValidateEmail("Ada <ada@example.com>")},
		{"email", repo.ValidateEmail("")},
		{"email", repo.ValidateEmail(strings.Repeat("a", 250) + "@x.io")},
		{"name", repo.ValidateText("name", "   ", true, 10)},
		{"name", repo.ValidateText("name", strings.Repeat("é", 11), false, 10)},
		{"name", repo.ValidateText("name", "a\x00b", false, 10)},
		{"name", repo.ValidateText("name", "\xff", false, 10)},
		{"name", repo.ValidateRoleName("Admin")},
		{"name", repo.ValidateRoleName("_x")},
		{"permissions", repo.ValidatePermissionForm([]string{"projects."})},
		{"permissions", repo.ValidatePermissionForm([]string{"*.read"})},
		{"permissions", repo.ValidatePermissionForm([]string{"Projects.read"})},
		{"permissions", repo.ValidatePermissionForm([]string{""})},
	}
	for i, c := range bad {
		if !errors.Is(c.err, repo.ErrInvalid) || repo.FieldOf(c.err) != c.field {
			t.Errorf("case %d: err %v, want invalid %s", i, c.err, c.field)
		}
	}
}

// TestRetrySpans: under a recording span, each wait before a transaction
// runs again is a "repo.retry" span under it, naming the attempt to come
// and the error that made it necessary; with no span, there are none.
func TestRetrySpans(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	// The package's tracer stays with the first provider set: this test's.
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)))
	p := repo.RetryPolicy{MaxAttempts: 4}
	retryable := &repo.Error{Kind: repo.ErrConflict, Message: "serialization failure", Retryable: true}
	failTwice := func() func() error {
		calls := 0
		return func() error {
			if calls++; calls < 3 {
				return retryable
			}
			return nil
		}
	}
	if err := p.Do(context.Background(), failTwice()); err != nil {
		t.Fatal(err)
	}
	if n := len(spans.Ended()); n != 0 {
		t.Errorf("%d spans without a recording parent, want none", n)
	}
	ctx, parent := otel.Tracer("test").Start(context.Background(), "request")
	if err := p.Do(ctx, failTwice()); err != nil {
		t.Fatal(err)
	}
	parent.End()
	var attempts []string
	for _, s := range spans.Ended() {
		if s.Name() != "repo.retry" {
			continue
		}
		if s.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("repo.retry is not under the caller's span")
		}
		for _, kv := range s.Attributes() {
			switch kv.Key {
			case "repo.retry.attempt":
				attempts = append(attempts, kv.Value.Emit())
			case "repo.retry.error":
				if !strings.Contains(kv.Value.AsString(), "serialization failure") {
					t.Errorf("repo.retry.error = %q", kv.Value.AsString())
				}
			}
		}
	}
	if want := []string{"2", "3"}; !slices.Equal(attempts, want) {
		t.Errorf("retry spans for attempts %v, want %v", attempts, want)
	}
}
