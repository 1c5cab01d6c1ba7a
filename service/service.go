// Package service holds Strata's use cases. Every mutation authenticates,
// authorizes, validates, mutates and records its audit event in one
// transaction; a denied attempt is recorded in a transaction of its own.
//
//	svc := service.New(db, rbac.New(db.RoleBindings(), rbac.Options{}), service.Options{})
//	p, err := svc.Authenticate(ctx, "strata_...", service.Request{RemoteAddr: ip})
//	project, err := svc.CreateProject(ctx, p, "acme", repo.NewProject{Name: "apollo"})
//
// It depends only on the repo interfaces and on the small Authorizer
// interface it declares, so it is unit-tested with the mocks in package mocks.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/tracing"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/scaling"
)

// Authorizer answers access checks and learns of policy changes; a
// *rbac.Authorizer is one.
type Authorizer interface {
	Check(ctx context.Context, orgID, userID uuid.UUID, perm string, projectID *uuid.UUID) (rbac.Decision, error)
	Invalidate(orgID uuid.UUID, version int64)
	// Version returns the newest policy version of the org known, and
	// whether caches may key on it (see rbac.Authorizer.Version): the
	// service's caches of API keys and orgs do.
	Version(ctx context.Context, orgID uuid.UUID) (version int64, trusted bool, err error)
}

// Options tune a Service. The zero value is usable.
type Options struct {
	// Now is the clock (key expiry); nil means time.Now.
	Now func() time.Time
	// CacheSize bounds the authenticated API keys, and the orgs by slug,
	// the service keeps in memory so that a warm request needs no database
	// round trip before its own (see cache.go); 0 means DefaultCacheSize, a
	// negative size turns the caches off.
	CacheSize int
	// IdempotencyTTL is how long the result of a mutation made under an
	// idempotency key is kept for replay (see idempotency.go); 0 means
	// DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
}

// Service implements the use cases over a Store and an Authorizer.
type Service struct {
	store repo.Store
	authz Authorizer
	now   func() time.Time
	keys  *cache[uuid.UUID, keyEntry] // by key ID; nil when not caching
	orgs  *cache[string, repo.Org]    // by slug; nil when not caching
	// idemTTL is the retention of idempotency records; flights the keys of
	// the mutations in progress.
	idemTTL time.Duration
	flights flights
}

// New returns a Service.
func New(store repo.Store, authz Authorizer, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = DefaultIdempotencyTTL
	}
	s := &Service{store: store, authz: authz, now: opts.Now, idemTTL: opts.IdempotencyTTL}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.CacheSize > 0 {
		s.keys = newCache[uuid.UUID, keyEntry](opts.CacheSize)
		s.orgs = newCache[string, repo.Org](opts.CacheSize)
	}
	return s
}

// Request carries what the transport knows about a request: for the audit
// trail, and for exactly-once mutations.
type Request struct {
	RemoteAddr string
	RequestID  string
	// IdempotencyKey, when not empty, is the client's key for this
	// mutation (the Idempotency-Key header): a retry under the same key
	// gets the first attempt's result instead of a second change (see
	// idempotency.go). Reads ignore it.
	IdempotencyKey string
	// Fingerprint identifies the request the key came with: a SHA-256 of
	// what makes it this request (for HTTP, its method, path and body).
	// Required with IdempotencyKey.
	Fingerprint [32]byte
}

// Principal is an authenticated caller: a user acting through an API key in
// the key's org, and nowhere else; or the system (see System).
type Principal struct {
	OrgID  uuid.UUID
	UserID uuid.UUID
	KeyID  uuid.UUID
	Request
	system bool
}

// System is the principal of a command run with the database's own
// credentials (strata import): not subject to RBAC, in any org, audited as
// the system. Only use cases that say so accept it.
func System(req Request) Principal { return Principal{Request: req, system: true} }

// action describes one use case for authorization and audit.
type action struct {
	name       string     // audit action, e.g. "project.create"
	perm       string     // permission it needs
	project    *uuid.UUID // the project it acts on, for project-scoped checks
	targetType string
	targetID   string
	// policy: the action changes roles, bindings or memberships, so the org's
	// policy version is bumped first thing in its transaction. That row lock
	// serializes policy changes per org, which the guards (last owner, no
	// escalation) rely on under concurrency.
	policy bool
}

// org resolves the org a request names by slug, from the cache when it is
// current. The caller's key is bound to one org: any other slug is not
// found, whether or not it exists.
func (s *Service) org(ctx context.Context, p Principal, slug string) (repo.Org, error) {
	if err := repo.ValidateSlug(slug); err != nil {
		return repo.Org{}, repo.NotFound("org")
	}
	org, err := s.orgBySlug(security(ctx), slug)
	if err != nil {
		return repo.Org{}, err
	}
	if org.ID != p.OrgID {
		return repo.Org{}, repo.NotFound("org")
	}
	return org, nil
}

// authorize checks p may do a in org. A denial is recorded in the audit trail,
// in a transaction of its own, and returned as ErrForbidden.
func (s *Service) authorize(ctx context.Context, p Principal, org repo.Org, a action) error {
	d, err := s.authz.Check(security(ctx), org.ID, p.UserID, a.perm, a.project)
	if err != nil {
		return err
	}
	if d.Allowed {
		return nil
	}
	return s.recordDenied(ctx, p, org, a, d.Reason, repo.Forbidden("missing permission %s", a.perm))
}

// recordDenied records a refused attempt in a transaction of its own and
// returns denial, the error to give the caller.
func (s *Service) recordDenied(ctx context.Context, p Principal, org repo.Org, a action, reason string, denial error) error {
	ev := s.event(p, org, a)
	ev.Outcome = repo.OutcomeDenied
	ev.Metadata = mustJSON(map[string]any{"permission": a.perm, "reason": reason})
	err := traceAppend(ctx, ev, func(ctx context.Context) error {
		_, err := audit.RecordDenied(ctx, s.store, ev)
		return err
	})
	if err != nil {
		return err
	}
	return denial
}

// traceAppend runs record, which appends ev to the audit trail, under an
// "audit.Append" span when ctx's span records.
func traceAppend(ctx context.Context, ev repo.AuditEvent, record func(ctx context.Context) error) error {
	ctx, span := tracing.Child(ctx, tracer, "audit.Append")
	if span.IsRecording() {
		span.SetAttributes(attribute.String("strata.audit.action", ev.Action), attribute.String("strata.audit.outcome", string(ev.Outcome)))
	}
	return tracing.End(span, record(ctx))
}

// tracer makes the service's spans.
var tracer = otel.Tracer("github.com/strata-go/strata/service")

// mayActOn checks, inside a transaction, that actor holds every permission
// target holds in the org (at each of target's scopes): what it takes to
// remove target, or to act with or revoke their credentials. Acting on
// oneself needs nothing more.
func mayActOn(ctx context.Context, tx repo.Store, orgID, actor, target uuid.UUID) error {
	if actor == target || actor == uuid.Nil {
		return nil
	}
	grants, err := tx.RoleBindings().Grants(ctx, orgID, target)
	if err != nil {
		return err
	}
	for _, g := range grants {
		role := repo.Role{ID: g.RoleID, OrgID: orgID, Name: g.RoleName, Permissions: g.Permissions}
		if err := rbac.CanGrant(ctx, tx, orgID, actor, role, g.ProjectID); err != nil {
			return err
		}
	}
	return nil
}

// read resolves the org and authorizes a read.
func (s *Service) read(ctx context.Context, p Principal, slug string, a action) (repo.Org, error) {
	org, err := s.org(ctx, p, slug)
	if err != nil {
		return repo.Org{}, err
	}
	return org, s.authorize(ctx, p, org, a)
}

// change is what a mutation's body reports back to mutate: the audit target
// and the fields before and after.
type change struct {
	targetID string
	before   map[string]any
	after    map[string]any
	meta     map[string]any // more top-level metadata
}

// mutate runs one mutation: resolve the org, authorize, then in one
// transaction run fn, bump the policy version if fn changed it, and record
// the audit event. For a policy action the version is bumped before fn runs;
// after the commit the authorizer learns the new version. out points to
// the variable fn sets to the use case's result (nil for none): with an
// idempotency key, that result is stored under the key, or, when one is
// stored already, set from it instead of running fn (see idempotency.go).
func (s *Service) mutate(ctx context.Context, p Principal, slug string, a action, out any, fn func(tx repo.Store, org repo.Org) (change, error)) error {
	im, err := idempotencyOf(p)
	if err != nil {
		return err
	}
	if im != nil {
		release, err := s.flights.hold(im)
		if err != nil {
			return err
		}
		defer release()
	}
	org, err := s.org(ctx, p, slug)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, p, org, a); err != nil {
		return err
	}
	err = s.inOrgTx(ctx, s.store, p, org, a, once{im, out}, fn)
	if errIs(err, repo.ErrForbidden) {
		// A guard inside the transaction refused (granting or touching more
		// than the caller holds): the change rolled back; record the attempt.
		return s.recordDenied(ctx, p, org, a, err.Error(), err)
	}
	return err
}

// once is a mutation's idempotency key (nil for none) and where its
// result goes.
type once struct {
	im  *idempotency
	out any
}

// inOrgTx is mutate after authorization: apply in one transaction of
// store, with the idempotency key claimed first and the result stored
// last, then, after the commit, tell the authorizer the new policy version.
func (s *Service) inOrgTx(ctx context.Context, store repo.Store, p Principal, org repo.Org, a action, o once, fn func(tx repo.Store, org repo.Org) (change, error)) error {
	var version int64
	err := store.InTx(ctx, func(tx repo.Store) error {
		version = 0
		if o.im != nil {
			replayed, err := o.im.claim(ctx, tx, s.now().Add(-s.idemTTL), o.out)
			if err != nil || replayed {
				return err
			}
		}
		var err error
		version, err = s.apply(ctx, tx, p, org, a, fn)
		if err == nil && o.im != nil {
			err = o.im.complete(ctx, tx, o.out)
		}
		return err
	})
	if err == nil && version > 0 {
		s.authz.Invalidate(org.ID, version)
	}
	return err
}

// apply runs a mutation inside tx: bump the policy version first for a
// policy action, run fn, record the audit event. It returns the new policy
// version (0 when a is not a policy action); the caller tells the authorizer
// once the transaction has committed, never before.
func (s *Service) apply(ctx context.Context, tx repo.Store, p Principal, org repo.Org, a action, fn func(tx repo.Store, org repo.Org) (change, error)) (int64, error) {
	var version int64
	if a.policy {
		var err error
		if version, err = rbac.BumpVersion(ctx, tx, org.ID); err != nil {
			return 0, err
		}
	}
	c, err := fn(tx, org)
	if err != nil {
		return 0, err
	}
	ev := s.event(p, org, a)
	if c.targetID != "" {
		ev.TargetID = c.targetID
	}
	meta := map[string]any{}
	if c.before != nil {
		meta["before"] = c.before
	}
	if c.after != nil {
		meta["after"] = c.after
	}
	for k, v := range c.meta {
		meta[k] = v
	}
	ev.Metadata = mustJSON(meta)
	err = traceAppend(ctx, ev, func(ctx context.Context) error {
		_, err := audit.Record(ctx, tx, ev)
		return err
	})
	if err != nil {
		return 0, err
	}
	return version, nil
}

// event returns the audit event of a by p in org, without outcome details.
func (s *Service) event(p Principal, org repo.Org, a action) repo.AuditEvent {
	ev := repo.AuditEvent{
		OrgID: org.ID, Action: a.name, TargetType: a.targetType, TargetID: a.targetID,
		Outcome: repo.OutcomeSuccess, RemoteAddr: p.RemoteAddr, RequestID: p.RequestID,
		ActorType: repo.ActorUser, ActorID: p.UserID.String(), APIKeyID: p.KeyID,
	}
	if p.UserID == uuid.Nil {
		ev.ActorType, ev.ActorID = repo.ActorSystem, "strata"
	}
	return ev
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of plain values are passed
	}
	return string(b)
}

func idString(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return id.String()
}

// security marks the reads of an authentication or authorization decision as
// strong: they go to the primary when there are replicas, so that a revoked
// key or permission is refused at once, whatever a replica's lag.
func security(ctx context.Context) context.Context {
	return scaling.WithConsistency(ctx, scaling.Strong())
}

// errIs reports whether err is of kind, for readability at call sites.
func errIs(err, kind error) bool { return errors.Is(err, kind) }
