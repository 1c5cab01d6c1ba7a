package rbac

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"

	"github.com/strata-go/strata/internal/tracing"
	"github.com/strata-go/strata/repo"
)

// VersionSource reads an org's current policy version; repo.Orgs is one.
type VersionSource interface {
	// PolicyVersion returns the org's current policy version.
	PolicyVersion(ctx context.Context, orgID uuid.UUID) (int64, error)
}

// Options configures an Authorizer. The zero value (with no VersionSource)
// caches until Invalidate or a Watcher says otherwise, which is right only
// when every change goes through this process.
type Options struct {
	// Versions, when set, is asked for an org's policy version whenever the
	// version the cache knows is older than MaxStaleness. Pass the primary's
	// repo.Orgs (a replica adds its replay lag to the staleness).
	Versions VersionSource
	// MaxStaleness is how long a version read from Versions is trusted. With
	// Versions set, 0 means "ask on every check" (one primary-key read per
	// check; the Grants query and its compilation stay cached). Ignored
	// without Versions.
	MaxStaleness time.Duration
	// MaxOrgs caps the orgs cached (default 1024).
	MaxOrgs int
	// MaxUsersPerOrg caps the users cached per org (default 4096).
	MaxUsersPerOrg int
	// Now is the clock MaxStaleness is measured on; nil means time.Now.
	Now func() time.Time
	// Logger receives Watch's reports of a broken subscription; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxOrgs        = 1024
	DefaultMaxUsersPerOrg = 4096
)

// Authorizer answers checks from a per-org cache of compiled grant sets, keyed
// by the org's policy version. It is safe for concurrent use; make one per
// process with New and share it.
type Authorizer struct {
	grants   GrantSource
	versions VersionSource
	maxStale int64 // nanoseconds
	maxUsers int
	orgs     *boundedMap[uuid.UUID, *orgState]
	now      func() time.Time
	start    time.Time
	log      *slog.Logger

	// watched is set once Watch runs; listening while its Watcher is
	// subscribed. Watched but not listening, the push channel may be losing
	// changes, and checks do not trust the cache (see Watch).
	watched, listening atomic.Bool
}

// New returns an Authorizer that reads grants from grants (the primary's
// repo.RoleBindings, typically) and caches them as opts says.
func New(grants GrantSource, opts Options) *Authorizer {
	a := &Authorizer{
		grants:   grants,
		versions: opts.Versions,
		maxStale: int64(max(opts.MaxStaleness, 0)),
		maxUsers: opts.MaxUsersPerOrg,
		now:      opts.Now,
	}
	if a.maxUsers <= 0 {
		a.maxUsers = DefaultMaxUsersPerOrg
	}
	maxOrgs := opts.MaxOrgs
	if maxOrgs <= 0 {
		maxOrgs = DefaultMaxOrgs
	}
	a.orgs = newBoundedMap[uuid.UUID, *orgState](maxOrgs)
	if a.now == nil {
		a.now = time.Now
	}
	if a.log = opts.Logger; a.log == nil {
		a.log = slog.Default()
	}
	a.start = a.now()
	return a
}

// Check answers whether the user may use permission perm (a known permission,
// not a wildcard) on a resource of the org: in project *projectID, or, when
// projectID is nil, outside any project (the org itself, its members, roles,
// keys, audit trail), where only org-wide bindings count. The caller has
// resolved the project within the org (a project of another org matches no
// binding, so it is denied, never leaked).
//
// The rules: a user with no bindings in the org (which includes a non-member)
// or who is not active is denied everything; an org-wide binding grants its
// role's permissions everywhere in the org, every project included; a project
// binding grants only the project-scoped permissions of its role
// (ProjectScoped), and only on that project. The Decision names the binding
// that allowed the check, org-wide bindings first, then in binding ID order.
//
// Check does not authenticate: the caller resolves who acts first, and for an
// API key refuses a revoked or expired one (repo.APIKey.Usable) before asking
// about the key's user. An unknown perm is an ErrInvalid error; an error
// reading the database is returned as is, with a zero (denying) Decision.
//
// Under a recording span, Check is an "rbac.Check" span with the
// permission, whether the user's grants came from the cache
// (rbac.cache hit or miss), the answer and the deciding role.
func (a *Authorizer) Check(ctx context.Context, orgID, userID uuid.UUID, perm string, projectID *uuid.UUID) (Decision, error) {
	ctx, span := tracing.Child(ctx, tracer, "rbac.Check")
	hit := false
	d, err := decide(perm, projectID, func() (*grantSet, error) {
		set, cached, err := a.grantSet(ctx, orgID, userID)
		hit = cached
		return set, err
	})
	if span.IsRecording() {
		cache := "miss"
		if hit {
			cache = "hit"
		}
		span.SetAttributes(attribute.String("rbac.permission", perm), attribute.String("rbac.cache", cache),
			attribute.Bool("rbac.allowed", d.Allowed), attribute.String("rbac.role", d.RoleName))
	}
	return d, tracing.End(span, err)
}

// Authorize is Check returning an error: nil when allowed, an ErrForbidden
// error (repo.Forbidden) when denied, and Check's error when it fails.
func (a *Authorizer) Authorize(ctx context.Context, orgID, userID uuid.UUID, perm string, projectID *uuid.UUID) error {
	d, err := a.Check(ctx, orgID, userID, perm, projectID)
	if err != nil {
		return err
	}
	return forbidden(d, perm, projectID)
}

// forbidden returns nil for an allowed decision, else its ErrForbidden error.
func forbidden(d Decision, perm string, projectID *uuid.UUID) error {
	if d.Allowed {
		return nil
	}
	where := "in the org"
	if projectID != nil {
		where = "on project " + projectID.String()
	}
	return repo.Forbidden("%s %s denied: %s", strconv.Quote(perm), where, d.Reason)
}

// Invalidate tells the cache that the org's policy version is now version
// (what BumpVersion returned): grant sets cached for an older version are not
// used again. The service calls it right after the transaction that bumped
// the version commits; a Watcher calls it for changes made elsewhere. A
// version not newer than one already known changes nothing, so calling it
// twice, late, or out of order is harmless.
func (a *Authorizer) Invalidate(orgID uuid.UUID, version int64) {
	st := a.org(orgID)
	raise(&st.known, version)
	if t := st.table.Load(); t != nil && t.version < version {
		st.table.CompareAndSwap(t, nil) // free it now rather than at the next check
	}
}

// Reset empties the cache: every org's next check reads its grants again.
func (a *Authorizer) Reset() { a.orgs.clear() }

// org returns the cache of an org, making it if needed.
func (a *Authorizer) org(orgID uuid.UUID) *orgState {
	if st, ok := a.orgs.load(orgID); ok {
		return st
	}
	return a.orgs.loadOrStore(orgID, new(orgState))
}

// grantSet returns the user's compiled grants, from the cache when it holds
// them for the org's current version, and whether they came from there.
func (a *Authorizer) grantSet(ctx context.Context, orgID, userID uuid.UUID) (*grantSet, bool, error) {
	degraded := a.watched.Load() && !a.listening.Load()
	if degraded && a.versions == nil {
		set, err := load(ctx, a.grants, orgID, userID) // nothing tells us about changes: no cache
		return set, false, err
	}
	st := a.org(orgID)
	v, err := a.version(ctx, orgID, st, degraded)
	if err != nil {
		return nil, false, err
	}
	t := st.tableFor(v, a.maxUsers)
	if set, ok := t.users.load(userID); ok {
		return set, true, nil
	}
	set, err := load(ctx, a.grants, orgID, userID) // after tableFor: see tableFor
	if err != nil {
		return nil, false, err
	}
	return t.users.loadOrStore(userID, set), false, nil
}

// tracer makes the spans of checks.
var tracer = otel.Tracer("github.com/strata-go/strata/enterprise/rbac")

// version returns the newest policy version of the org known, asking the
// VersionSource first if what is known is older than MaxStaleness (or always,
// when degraded).
func (a *Authorizer) version(ctx context.Context, orgID uuid.UUID, st *orgState, degraded bool) (int64, error) {
	if a.versions == nil {
		return st.known.Load(), nil
	}
	var now int64
	if a.maxStale > 0 && !degraded {
		now = a.clock()
		if c := st.checked.Load(); c != 0 && now-c < a.maxStale {
			return st.known.Load(), nil
		}
	}
	v, err := a.versions.PolicyVersion(ctx, orgID)
	if err != nil {
		return 0, err
	}
	raise(&st.known, v)
	if now != 0 {
		raise(&st.checked, now) // the time the query started: conservative
	}
	return st.known.Load(), nil
}

// clock returns the time since New on the monotonic clock, never 0.
func (a *Authorizer) clock() int64 { return int64(a.now().Sub(a.start)) + 1 }
