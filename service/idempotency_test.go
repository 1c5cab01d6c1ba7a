package service_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/repo/sqliterepo"
	"github.com/strata-go/strata/service"
)

// withKey returns p sending idempotency key key with a request whose
// fingerprint is the SHA-256 of request.
func withKey(p service.Principal, key, request string) service.Principal {
	p.IdempotencyKey, p.Fingerprint = key, sha256.Sum256([]byte(request))
	return p
}

// twice runs a mutation, then runs it again as a retry under the same
// idempotency key, and checks that the retry returned the same result and
// that only the first attempt changed anything (one audit event).
func twice[T any](w *world, step string, call func(p service.Principal) (T, error)) T {
	w.t.Helper()
	p := withKey(w.owner, "key "+step, step)
	var first T
	w.mutate(step, nil, func() (err error) {
		first, err = call(p)
		return err
	})
	before := w.success
	again, err := call(p)
	if err != nil {
		w.t.Fatalf("%s, retried under its key: %v", step, err)
	}
	if !reflect.DeepEqual(again, first) {
		w.t.Errorf("%s, retried under its key, returned\n%+v\nnot the first result\n%+v", step, again, first)
	}
	w.checkCounts(step + " retried")
	if w.success != before {
		w.t.Errorf("%s, retried under its key, recorded another event", step)
	}
	return first
}

// none is the result of a use case that returns only an error.
type none struct{}

func noResult(err error) (none, error) { return none{}, err }

func TestIdempotentMutations(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d)
			ctx, svc := w.ctx, w.svc
			project := twice(w, "create project", func(p service.Principal) (repo.Project, error) {
				return svc.CreateProject(ctx, p, "acme", repo.NewProject{Name: "apollo"})
			})
			twice(w, "update project", func(p service.Principal) (repo.Project, error) {
				return svc.UpdateProject(ctx, p, "acme", project.ID, repo.ProjectUpdate{Description: ptr("to the moon")})
			})
			member := twice(w, "add member", func(p service.Principal) (repo.Member, error) {
				return svc.AddMember(ctx, p, "acme", service.NewMember{Email: "mia@example.com", Role: rbac.Viewer})
			})
			key := twice(w, "create key", func(p service.Principal) (service.NewKey, error) {
				return svc.CreateAPIKey(ctx, p, "acme", service.NewAPIKey{Name: "mia's", UserID: member.User.ID})
			})
			if _, err := svc.Authenticate(ctx, key.Secret, req); err != nil {
				t.Errorf("the replayed key does not authenticate: %v", err)
			}
			twice(w, "create role", func(p service.Principal) (repo.Role, error) {
				return svc.CreateRole(ctx, p, "acme", "deployer", []string{rbac.ProjectsRead})
			})
			twice(w, "update role", func(p service.Principal) (repo.Role, error) {
				return svc.UpdateRole(ctx, p, "acme", "deployer", []string{rbac.ProjectsRead, rbac.ProjectsUpdate})
			})
			binding := twice(w, "bind role", func(p service.Principal) (repo.RoleBinding, error) {
				return svc.CreateRoleBinding(ctx, p, "acme", service.NewBinding{UserID: member.User.ID, Role: "deployer", ProjectID: &project.ID})
			})
			twice(w, "update org", func(p service.Principal) (repo.Org, error) {
				return svc.UpdateOrg(ctx, p, "acme", repo.OrgUpdate{Name: ptr("Acme Rockets")})
			})
			// Deletions: the retry succeeds too, where a plain second call
			// would find nothing to delete.
			twice(w, "unbind role", func(p service.Principal) (none, error) {
				return noResult(svc.DeleteRoleBinding(ctx, p, "acme", binding.ID))
			})
			twice(w, "delete role", func(p service.Principal) (none, error) { return noResult(svc.DeleteRole(ctx, p, "acme", "deployer")) })
			twice(w, "revoke key", func(p service.Principal) (none, error) { return noResult(svc.RevokeAPIKey(ctx, p, "acme", key.ID)) })
			twice(w, "remove member", func(p service.Principal) (none, error) {
				return noResult(svc.RemoveMember(ctx, p, "acme", member.User.ID))
			})
			twice(w, "delete project", func(p service.Principal) (none, error) {
				return noResult(svc.DeleteProject(ctx, p, "acme", project.ID))
			})
			if w.mutations != 13 {
				t.Errorf("%d mutations took effect, want 13", w.mutations)
			}
		})
	}
}

func TestIdempotencyKeyRules(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d)
			ctx, svc, owner := w.ctx, w.svc, w.owner
			create := func(p service.Principal, name string) (repo.Project, error) {
				return svc.CreateProject(ctx, p, "acme", repo.NewProject{Name: name})
			}

			// The same key with another request: refused, nothing changes.
			w.mutate("create under k1", nil, func() error { return errOnly(create(withKey(owner, "k1", "apollo"), "apollo")) })
			w.mutate("k1 for another request", repo.ErrInvalid, func() error {
				err := errOnly(create(withKey(owner, "k1", "gemini"), "gemini"))
				if !errors.Is(err, service.ErrKeyReused) {
					t.Errorf("reusing a key for another request: %v, want ErrKeyReused", err)
				}
				return err
			})

			// A failure stores nothing: the retry, once the cause is gone,
			// takes effect.
			w.mutate("create a taken name under k2", repo.ErrConflict, func() error {
				return errOnly(create(withKey(owner, "k2", "apollo"), "apollo"))
			})
			apollo := w.projectNamed("apollo")
			w.mutate("delete apollo", nil, func() error { return svc.DeleteProject(ctx, owner, "acme", apollo.ID) })
			w.mutate("retry under k2", nil, func() error { return errOnly(create(withKey(owner, "k2", "apollo"), "apollo")) })

			// A denial stores nothing either: once the permission is
			// granted, the retry takes effect.
			viewer, _ := w.member("vera@example.com", rbac.Viewer)
			w.mutate("viewer creates under k3", repo.ErrForbidden, func() error {
				return errOnly(create(withKey(viewer, "k3", "mercury"), "mercury"))
			})
			w.mutate("make the viewer an admin", nil, func() error {
				return errOnly(svc.CreateRoleBinding(ctx, owner, "acme", service.NewBinding{UserID: viewer.UserID, Role: rbac.Admin}))
			})
			w.mutate("viewer retries under k3", nil, func() error { return errOnly(create(withKey(viewer, "k3", "mercury"), "mercury")) })

			// Keys are scoped to the API key: the viewer's k1 is not the
			// owner's.
			w.mutate("viewer creates under k1", nil, func() error { return errOnly(create(withKey(viewer, "k1", "venus"), "venus")) })

			// A key without a fingerprint is a caller's bug.
			bare := owner
			bare.IdempotencyKey = "k4"
			w.mutate("a key without a fingerprint", repo.ErrInvalid, func() error { return errOnly(create(bare, "mars")) })
		})
	}
}

// projectNamed returns the org's project called name.
func (w *world) projectNamed(name string) repo.Project {
	w.t.Helper()
	page, err := w.db.Projects().List(w.ctx, w.org.ID, repo.PageRequest{Limit: repo.MaxPageSize})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, p := range page.Items {
		if p.Name == name {
			return p
		}
	}
	w.t.Fatalf("no project %q", name)
	return repo.Project{}
}

// gatedStore holds every transaction until gate is closed, once entered
// has been told.
type gatedStore struct {
	repo.DB
	entered chan struct{}
	gate    chan struct{}
}

func (s gatedStore) InTx(ctx context.Context, fn func(repo.Store) error) error {
	s.entered <- struct{}{}
	<-s.gate
	return s.DB.InTx(ctx, fn)
}

func TestIdempotencyKeyInFlight(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d)
			gated := gatedStore{DB: w.db, entered: make(chan struct{}, 1), gate: make(chan struct{})}
			svc := service.New(gated, w.authz, service.Options{})
			p := withKey(w.owner, "k", "apollo")
			first := make(chan error, 1)
			go func() {
				first <- errOnly(svc.CreateProject(w.ctx, p, "acme", repo.NewProject{Name: "apollo"}))
			}()
			<-gated.entered // the first attempt is at work
			// (Should the retry wait for it instead, the gate opens after a
			// while, and the retry replays the first attempt.)
			returned := make(chan struct{})
			go func() {
				select {
				case <-returned:
				case <-gated.entered:
				case <-time.After(2 * time.Second):
				}
				close(gated.gate)
			}()
			_, err := svc.CreateProject(w.ctx, p, "acme", repo.NewProject{Name: "apollo"})
			close(returned)
			if !errors.Is(err, repo.ErrKeyInFlight) || !errors.Is(err, repo.ErrConflict) {
				t.Errorf("a retry while the first attempt runs: %v, want an ErrConflict wrapping ErrKeyInFlight", err)
			}
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			// Once the first is done, the retry replays it.
			if _, err := svc.CreateProject(w.ctx, p, "acme", repo.NewProject{Name: "apollo"}); err != nil {
				t.Errorf("the retry after the first attempt: %v", err)
			}
		})
	}
}

func TestIdempotencyRetentionAndPrune(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d)
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			later := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			svc := service.New(w.db, w.authz, service.Options{Now: clock, IdempotencyTTL: time.Hour})
			create := func(key, name string) (repo.Project, error) {
				return svc.CreateProject(w.ctx, withKey(w.owner, key, name), "acme", repo.NewProject{Name: name})
			}
			first, err := create("k1", "apollo")
			if err != nil {
				t.Fatal(err)
			}
			if again, err := create("k1", "apollo"); err != nil || again.ID != first.ID {
				t.Fatalf("within the retention: %v, %v; want the first project", again.ID, err)
			}
			if n, err := svc.PruneIdempotencyKeys(w.ctx); err != nil || n != 0 {
				t.Errorf("PruneIdempotencyKeys within the retention = %d, %v; want 0", n, err)
			}
			later(2 * time.Hour)
			// Past the retention a key names nothing: the same key with
			// another request is a new request, not a reuse.
			if _, err := create("k1", "gemini"); err != nil {
				t.Errorf("past the retention, a new request under the key (record not pruned): %v", err)
			}
			if _, err := create("k2", "mercury"); err != nil {
				t.Fatal(err)
			}
			later(2 * time.Hour)
			if n, err := svc.PruneIdempotencyKeys(w.ctx); err != nil || n != 2 {
				t.Errorf("PruneIdempotencyKeys past the retention = %d, %v; want 2", n, err)
			}
			if _, err := create("k2", "venus"); err != nil {
				t.Errorf("past the retention, a new request under the key (record pruned): %v", err)
			}
		})
	}
}

// TestIdempotencyResultSealed checks that the stored result of a key's
// creation shows neither the key's secret nor its name (a name long enough
// not to turn up in sealed bytes by chance, as "ci" now and then did).
func TestIdempotencyResultSealed(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d)
			k, err := w.svc.CreateAPIKey(w.ctx, withKey(w.owner, "k", "key"), "acme", service.NewAPIKey{Name: "nightly-release-pipeline"})
			if err != nil {
				t.Fatal(err)
			}
			results := storedResults(t, w.db)
			if len(results) != 1 {
				t.Fatalf("%d stored results, want 1", len(results))
			}
			secret := k.Secret[strings.LastIndex(k.Secret, "_")+1:]
			if bytes.Contains(results[0], []byte(secret)) || bytes.Contains(results[0], []byte("nightly-release-pipeline")) {
				t.Errorf("the stored result shows the key: %q", results[0])
			}
		})
	}
}

// storedResults reads the result column of every idempotency record.
func storedResults(t *testing.T, db repo.DB) [][]byte {
	t.Helper()
	const q = "SELECT result FROM idempotency_keys"
	switch db := db.(type) {
	case *sqliterepo.DB:
		rows, err := db.Reader().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		return scanBytes(t, rows)
	case *pgrepo.DB:
		rows, err := db.Pool().Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		return scanBytes(t, rows)
	default:
		t.Fatalf("storedResults: %T", db)
		return nil
	}
}

// scanBytes reads a one-column result of either driver's rows.
func scanBytes(t *testing.T, rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) [][]byte {
	t.Helper()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
