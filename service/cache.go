package service

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// The service caches what every request needs before it can touch the
// resource it asks for: the API key it presents (Authenticate) and the org
// its URL names (by slug). Both are keyed on the org's policy version as
// the Authorizer knows it (Authorizer.Version), the same version the RBAC
// cache keys on, so all three learn of a change together and in the same
// ways:
//
//   - On this instance, at once: revoking a key, removing a member and
//     updating the org are policy actions, whose transaction bumps the
//     org's version; the Authorizer learns the new version (Invalidate)
//     before the use case returns, and every entry read at an older version
//     is read again on its next use.
//   - From other instances (or a CLI): when the Authorizer learns the new
//     version, from LISTEN/NOTIFY on PostgreSQL within milliseconds, and at
//     the latest after its MaxStaleness (strata serve --policy-staleness,
//     default 1s), by reading the org's version from the primary at most
//     once per org per MaxStaleness. That is the worst-case staleness of a
//     revocation or member removal made elsewhere, as it is for a
//     permission change. While the notification channel is down, every
//     request reads the org's version (one primary-key read) and the caches
//     stay usable.
//
// An entry holds what was read in one snapshot together with the org's
// version at that moment (repo.Credential, repo.Org.PolicyVersion), so it is
// never newer than its tag; it is current while the Authorizer knows no
// newer version. Expiry needs no signal: it is checked against the clock on
// every request. Suspending a user must bump the versions of the user's
// orgs (rbac.BumpVersionsForUser), as authorization already requires.

// DefaultCacheSize is the number of API keys, and of orgs, the service
// caches when Options.CacheSize is 0.
const DefaultCacheSize = 10000

// keyEntry is an authenticated API key: what Authenticate needs to accept it
// again without the database.
type keyEntry struct {
	hash      [32]byte // SHA-256 of the secret
	expiresAt *time.Time
	orgID     uuid.UUID
	userID    uuid.UUID
	version   int64 // the org's policy version when it was read
}

// expired reports whether the key has expired at now.
func (e *keyEntry) expired(now time.Time) bool {
	return e.expiresAt != nil && !now.Before(*e.expiresAt)
}

// cache is a map holding at most max entries; when full, an insert evicts an
// arbitrary entry. Reads share a read lock.
type cache[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

func newCache[K comparable, V any](max int) *cache[K, V] {
	return &cache[K, V]{m: make(map[K]V), max: max}
}

func (c *cache[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *cache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m { // map order is unspecified: a cheap random eviction
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
}

func (c *cache[K, V]) delete(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// caching reports whether the service caches at all (Options.CacheSize >= 0).
func (s *Service) caching() bool { return s.keys != nil }

// current reports whether an entry of org read at policy version tag may be
// used: the Authorizer trusts its version and knows none newer. An org the
// Authorizer cannot find (deleted) or a failure to ask makes the entry not
// current, and the caller reads the database again.
func (s *Service) current(ctx context.Context, orgID uuid.UUID, tag int64) bool {
	v, trusted, err := s.authz.Version(ctx, orgID)
	return err == nil && trusted && v <= tag
}

// cacheable reports whether an entry of org just read at policy version tag
// may be cached: the same test as current, made after the read.
func (s *Service) cacheable(ctx context.Context, orgID uuid.UUID, tag int64) bool {
	return s.caching() && s.current(ctx, orgID, tag)
}

// credential returns the cached entry of an API key, or reads the key and
// caches it when it is usable (not revoked, its user active). ok is false
// for an unknown key and for one that is unusable.
func (s *Service) credential(ctx context.Context, id uuid.UUID) (e keyEntry, ok bool, err error) {
	if s.caching() {
		if e, ok := s.keys.get(id); ok {
			// An expired key stays expired: no need to ask whether it is current.
			if e.expired(s.now()) || s.current(ctx, e.orgID, e.version) {
				return e, true, nil
			}
			s.keys.delete(id)
		}
	}
	c, err := s.store.APIKeys().Credential(ctx, id)
	if errIs(err, repo.ErrNotFound) {
		return keyEntry{}, false, nil
	}
	if err != nil {
		return keyEntry{}, false, err
	}
	k := c.Key
	if k.RevokedAt != nil || c.UserStatus != repo.UserActive || len(k.SecretHash) != len(e.hash) {
		return keyEntry{}, false, nil
	}
	e = keyEntry{expiresAt: k.ExpiresAt, orgID: k.OrgID, userID: k.UserID, version: c.PolicyVersion}
	copy(e.hash[:], k.SecretHash)
	if s.cacheable(ctx, k.OrgID, c.PolicyVersion) {
		s.keys.put(id, e)
	}
	return e, true, nil
}

// orgBySlug returns the org a slug names, from the cache or, read from the
// primary, caching it.
func (s *Service) orgBySlug(ctx context.Context, slug string) (repo.Org, error) {
	if s.caching() {
		if org, ok := s.orgs.get(slug); ok {
			if s.current(ctx, org.ID, org.PolicyVersion) {
				return org, nil
			}
			s.orgs.delete(slug)
		}
	}
	org, err := s.store.Orgs().GetBySlug(security(ctx), slug)
	if err != nil {
		return repo.Org{}, err
	}
	if s.cacheable(ctx, org.ID, org.PolicyVersion) {
		s.orgs.put(slug, org)
	}
	return org, nil
}

// forget drops what the caches hold about a key and an org after a change
// to them on this instance. The version bump of the change's transaction
// makes them stale anyway; forgetting frees them at once.
func (s *Service) forget(keyID uuid.UUID, slug string) {
	if !s.caching() {
		return
	}
	if keyID != uuid.Nil {
		s.keys.delete(keyID)
	}
	if slug != "" {
		s.orgs.delete(slug)
	}
}
