package rbac

import (
	"context"

	"github.com/google/uuid"
)

// Version returns the newest policy version of the org this Authorizer
// knows, learned exactly as Check learns it: from Invalidate, from a Watch's
// notifications, and from the VersionSource, which it asks first when what it
// knows is older than MaxStaleness (or on every call while a Watch is not
// subscribed). Version and Check share that state, so calling both costs at
// most one VersionSource read per org per MaxStaleness.
//
// It lets caches of other facts that a policy change invalidates (the
// service's cache of authenticated API keys, say) key their entries on the
// same version, and so see a change when authorization does: a cache entry
// read when the org's version was v is current while Version returns at
// most v.
//
// trusted is false when the version cannot vouch for such a cache: with a
// Watch but no VersionSource, since a resubscribing Watch drops what it knew
// (changes may have been missed meanwhile) and nothing else would tell.
// Without a Watch or a VersionSource, only Invalidate raises the version,
// which is right when this process makes every change (see the package
// documentation).
func (a *Authorizer) Version(ctx context.Context, orgID uuid.UUID) (version int64, trusted bool, err error) {
	watched := a.watched.Load()
	if watched && a.versions == nil {
		return 0, false, nil
	}
	v, err := a.version(ctx, orgID, a.org(orgID), watched && !a.listening.Load())
	if err != nil {
		return 0, false, err
	}
	return v, true, nil
}
