package service_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/httpapi"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/service"
)

// calls counts what a service asks of the database, by repository: the
// Store's repositories handed out (every use of the database goes
// store.Projects().Get(...) and the like: one hand-out, one call),
// transactions begun, and the reads of the rbac.Authorizer built on the
// same counters (grants, policy versions).
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[what]++
}

// take returns the counts so far and starts again from zero.
func (c *calls) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = nil
	if n == nil {
		n = map[string]int{}
	}
	return n
}

// countingStore counts the repositories a Store hands out and its transactions.
type countingStore struct {
	repo.Store
	c *calls
}

func (s countingStore) Orgs() repo.Orgs   { s.c.add("orgs"); return s.Store.Orgs() }
func (s countingStore) Users() repo.Users { s.c.add("users"); return s.Store.Users() }
func (s countingStore) Memberships() repo.Memberships {
	s.c.add("members")
	return s.Store.Memberships()
}
func (s countingStore) Roles() repo.Roles { s.c.add("roles"); return s.Store.Roles() }
func (s countingStore) RoleBindings() repo.RoleBindings {
	s.c.add("bindings")
	return s.Store.RoleBindings()
}
func (s countingStore) Projects() repo.Projects       { s.c.add("projects"); return s.Store.Projects() }
func (s countingStore) APIKeys() repo.APIKeys         { s.c.add("keys"); return s.Store.APIKeys() }
func (s countingStore) AuditEvents() repo.AuditEvents { s.c.add("audit"); return s.Store.AuditEvents() }

// InTx counts the transaction, and nothing inside it: a mutation's own work.
func (s countingStore) InTx(ctx context.Context, fn func(tx repo.Store) error) error {
	s.c.add("tx")
	return s.Store.InTx(ctx, fn)
}

type countingGrants struct {
	rbac.GrantSource
	c *calls
}

func (g countingGrants) Grants(ctx context.Context, orgID, userID uuid.UUID) ([]repo.Grant, error) {
	g.c.add("rbac grants")
	return g.GrantSource.Grants(ctx, orgID, userID)
}

type countingVersions struct {
	rbac.VersionSource
	c *calls
}

func (v countingVersions) PolicyVersion(ctx context.Context, orgID uuid.UUID) (int64, error) {
	v.c.add("rbac version")
	return v.VersionSource.PolicyVersion(ctx, orgID)
}

// wireCounter counts the statements a pgx pool sends to PostgreSQL.
type wireCounter struct{ n atomic.Int64 }

func (w *wireCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	w.n.Add(1)
	return ctx
}

func (w *wireCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// fakeClock is a clock the tests move by hand, in Unix nanoseconds.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// instance is one server over a shared database, wired as strata serve
// wires it (an Authorizer asking the org's policy version at most once per
// second), with every database call it makes counted.
type instance struct {
	t     *testing.T
	calls *calls
	clock *fakeClock // the Authorizer's and the Service's
	svc   *service.Service
	api   http.Handler
}

func newInstance(t *testing.T, db repo.DB, clock *fakeClock) *instance {
	c := &calls{}
	authz := rbac.New(countingGrants{db.RoleBindings(), c}, rbac.Options{
		Versions: countingVersions{db.Orgs(), c}, MaxStaleness: time.Second, Now: clock.Now,
	})
	svc := service.New(countingStore{db, c}, authz, service.Options{Now: clock.Now})
	return &instance{t: t, calls: c, clock: clock, svc: svc, api: httpapi.New(httpapi.Config{DB: db, Service: svc})}
}

// do sends one request to the instance's API and returns the status and body.
func (in *instance) do(method, path, key, body string) (int, string) {
	in.t.Helper()
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	} else {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	in.api.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// want sends a request and fails the test unless it answers status.
func (in *instance) want(status int, method, path, key, body string) string {
	in.t.Helper()
	code, out := in.do(method, path, key, body)
	if code != status {
		in.t.Fatalf("%s %s = %d %s, want %d", method, path, code, out, status)
	}
	return out
}

// openCounted opens a fresh database of the dialect; on PostgreSQL it also
// counts every statement sent to the server.
func openCounted(t *testing.T, d repo.Dialect) (repo.DB, *wireCounter) {
	if d != repo.PostgreSQL {
		return testdb.Open(t, d), nil
	}
	cfg, err := pgxpool.ParseConfig(testdb.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	wc := &wireCounter{}
	cfg.ConnConfig.Tracer = wc
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := pgrepo.New(pool, pgrepo.Options{})
	t.Cleanup(func() { db.Close() })
	return db, wc
}

// TestWarmRequestsNeedNoDatabaseRoundTrip proves the hot path: once a key,
// its org and its grants are cached, an authenticated GET of a project costs
// exactly its own read, and a create exactly its own transaction; the
// authentication (API key), the org lookup by slug and the RBAC check cost
// nothing. On PostgreSQL the statements sent to the server are counted too.
func TestWarmRequestsNeedNoDatabaseRoundTrip(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db, wire := openCounted(t, d)
			in := newInstance(t, db, newClock())
			_, key, err := in.svc.Bootstrap(t.Context(), service.BootstrapInput{OrgSlug: "acme", Email: "olive@example.com"}, req)
			if err != nil {
				t.Fatal(err)
			}
			out := in.want(http.StatusCreated, "POST", "/v1/orgs/acme/projects", key.Secret, `{"name":"apollo"}`)
			id := out[strings.Index(out, `"id":"`)+6:][:36]
			get := "/v1/orgs/acme/projects/" + id
			in.want(http.StatusOK, "GET", get, key.Secret, "") // warm
			in.calls.take()

			const n = 50
			sent := wireCount(wire)
			for range n {
				in.want(http.StatusOK, "GET", get, key.Secret, "")
			}
			if got, want := in.calls.take(), map[string]int{"projects": n}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%d warm GETs asked the database %v, want only the project reads %v", n, got, want)
			}
			if wire != nil {
				if got := wireCount(wire) - sent; got != n {
					t.Errorf("%d warm GETs sent %d statements to PostgreSQL, want %d", n, got, n)
				}
			}

			for i := range n {
				in.want(http.StatusCreated, "POST", "/v1/orgs/acme/projects", key.Secret, fmt.Sprintf(`{"name":"p%d"}`, i))
			}
			if got, want := in.calls.take(), map[string]int{"tx": n}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%d warm creates asked the database %v outside their transactions, want %v", n, got, want)
			}

			// Past the staleness bound, the org's version is read once, whatever the number of requests.
			in.clock.Advance(time.Second)
			for range n {
				in.want(http.StatusOK, "GET", get, key.Secret, "")
			}
			if got, want := in.calls.take(), map[string]int{"projects": n, "rbac version": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%d GETs after MaxStaleness asked %v, want %v", n, got, want)
			}
		})
	}
}

func wireCount(w *wireCounter) int64 {
	if w == nil {
		return 0
	}
	return w.n.Load()
}

// TestCachedKeysRefusedAtOnce: a revoked key, a removed member's key and an
// expired key are refused on the next request by the instance that made
// the change (or whose clock passed the expiry), and by another instance
// once it learns the org's new policy version (here: past MaxStaleness;
// with LISTEN/NOTIFY on PostgreSQL, within milliseconds).
func TestCachedKeysRefusedAtOnce(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			db := testdb.Open(t, d)
			clock := newClock()
			a, b := newInstance(t, db, clock), newInstance(t, db, clock)
			ctx := t.Context()
			_, owner, err := a.svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: "acme", Email: "olive@example.com"}, req)
			if err != nil {
				t.Fatal(err)
			}
			ownerP, err := a.svc.Authenticate(ctx, owner.Secret, req)
			if err != nil {
				t.Fatal(err)
			}
			member := func(email string) (repo.Member, string) {
				m, err := a.svc.AddMember(ctx, ownerP, "acme", service.NewMember{Email: email, Role: rbac.Member})
				if err != nil {
					t.Fatal(err)
				}
				k, err := a.svc.CreateAPIKey(ctx, ownerP, "acme", service.NewAPIKey{Name: email, UserID: m.User.ID})
				if err != nil {
					t.Fatal(err)
				}
				return m, k.Secret
			}
			org := "/v1/orgs/acme"
			warm := func(key string) {
				t.Helper()
				for _, in := range []*instance{a, b} {
					in.want(http.StatusOK, "GET", org+"/projects", key, "")
					in.want(http.StatusOK, "GET", org+"/projects", key, "")
					in.calls.take()
				}
			}
			refusedAtOnce := func(what, key string, change func()) {
				t.Helper()
				warm(key)
				change()
				a.want(http.StatusUnauthorized, "GET", org+"/projects", key, "")
				b.want(http.StatusOK, "GET", org+"/projects", key, "") // within the staleness bound
				clock.Advance(time.Second)
				b.want(http.StatusUnauthorized, "GET", org+"/projects", key, "")
				a.want(http.StatusUnauthorized, "GET", org+"/projects", key, "")
			}

			_, revokedKey := member("rev@example.com")
			keyID, _, _ := strings.Cut(strings.TrimPrefix(revokedKey, "strata_"), "_")
			refusedAtOnce("revoked", revokedKey, func() {
				a.want(http.StatusNoContent, "DELETE", org+"/api-keys/"+uuid.MustParse(keyID).String(), owner.Secret, "")
			})

			removed, removedKey := member("gone@example.com")
			refusedAtOnce("removed", removedKey, func() {
				a.want(http.StatusNoContent, "DELETE", org+"/members/"+removed.User.ID.String(), owner.Secret, "")
			})

			// Expiry needs no signal: the clock is checked on every request.
			m, _ := member("temp@example.com")
			exp := clock.Now().Add(time.Hour)
			k, err := a.svc.CreateAPIKey(ctx, ownerP, "acme", service.NewAPIKey{Name: "temp", UserID: m.User.ID, ExpiresAt: &exp})
			if err != nil {
				t.Fatal(err)
			}
			warm(k.Secret)
			clock.Advance(time.Hour)
			for _, in := range []*instance{a, b} {
				in.want(http.StatusUnauthorized, "GET", org+"/projects", k.Secret, "")
				if got := in.calls.take(); len(got) != 0 {
					t.Errorf("refusing an expired cached key asked the database %v", got)
				}
			}

			// A wrong secret for a cached key is refused without the database.
			wrong := k.Secret[:len(k.Secret)-4] + "AAAA"
			if wrong == k.Secret {
				wrong = k.Secret[:len(k.Secret)-4] + "BBBB"
			}
			a.want(http.StatusUnauthorized, "GET", org+"/projects", wrong, "")
			if got := a.calls.take(); len(got) != 0 {
				t.Errorf("refusing a wrong secret of a cached key asked the database %v", got)
			}

			// An org renamed on one instance is seen renamed by the other.
			a.want(http.StatusOK, "PATCH", org, owner.Secret, `{"name":"Acme Renamed"}`)
			if out := a.want(http.StatusOK, "GET", org, owner.Secret, ""); !strings.Contains(out, "Acme Renamed") {
				t.Errorf("GET org after PATCH = %s", out)
			}
			if out := b.want(http.StatusOK, "GET", org, owner.Secret, ""); !strings.Contains(out, "Acme Renamed") {
				t.Errorf("another instance's GET org after PATCH = %s", out)
			}
		})
	}
}
