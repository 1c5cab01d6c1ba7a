// Package rbac decides whether a member of an org may use a permission, from
// the roles bound to them org-wide or on one project, through a per-org cache
// invalidated by the org's policy version.
//
//	authz := rbac.New(db.RoleBindings(), rbac.Options{Versions: db.Orgs(), MaxStaleness: time.Second})
//	err := authz.Authorize(ctx, orgID, userID, rbac.ProjectsUpdate, &projectID)
//	if errors.Is(err, repo.ErrForbidden) { ... }
//
// # Model
//
// Permissions are "resource.verb" strings (OrgRead ... AuditRead); a role holds
// a set of them and may use the wildcards "resource.*" and "*". Every org has
// the built-in roles owner ("*"), admin (all but org.delete), member and viewer
// (BuiltinRoles, SeedBuiltinRoles), whose grants are always the code's, whatever
// their stored rows say (Resolve), and any custom roles (ValidatePermissions).
// A binding gives a role to a member on the whole org, which covers every
// project, or on one project, where it grants only the project-scoped
// permissions (ProjectScoped: projects.read, projects.update, projects.delete).
// A user with no binding, or not active, is denied everything; a revoked or
// expired API key is refused by the caller before any check. Check explains
// an allowed answer with the binding and role behind it.
//
// # Changes
//
// The service changes roles, bindings and memberships in one transaction that
// also calls BumpVersion (first), the guards CanGrant (no one grants what they
// do not hold) and EnsureNotLastOwner (an org keeps an org-wide owner), and,
// for roles, DeleteRole (a bound role is a conflict). After the commit it
// passes the new version to Invalidate:
//
//	var v int64
//	err := db.InTx(ctx, func(tx repo.Store) error {
//		var err error
//		if v, err = rbac.BumpVersion(ctx, tx, orgID); err != nil {
//			return err
//		}
//		if err := rbac.EnsureNotLastOwner(ctx, tx, orgID, rbac.Removal{BindingID: id}); err != nil {
//			return err
//		}
//		return tx.RoleBindings().Delete(ctx, orgID, id)
//	})
//	if err == nil {
//		authz.Invalidate(orgID, v)
//	}
//
// # Cache
//
// Per org, the cache holds the version it believes current and a table of
// users' compiled grant sets read at that version; per user, the set is an
// array indexed by permission for the org-wide bindings, plus one such array
// per project the user has bindings on. A cached check looks up the org, the
// user, the permission (and the project) in hash maps and reads one array
// slot: its cost depends on neither the org's number of bindings nor the
// user's, and it allocates nothing. A miss costs one Grants query (the user's
// bindings: one indexed query) and a compilation linear in the user's
// bindings. When the org's version rises its table is dropped as a whole.
// Memory is bounded by Options.MaxOrgs × Options.MaxUsersPerOrg grant sets,
// evicted approximately least recently used.
//
// The cache learns of a new version in three ways, which combine. Below, a
// change is "seen" by a check when the check's answer reflects it, and
// staleness is how long after its commit a change can still go unseen.
//
//   - Invalidate, on the instance that made the change: a check that starts
//     after Invalidate(org, v) returns sees every change up to version v.
//     Staleness is the time between the commit returning and the service
//     calling Invalidate (no I/O in between): zero for checks that follow the
//     change in the same request, microseconds for concurrent ones.
//   - Options.Versions with MaxStaleness d > 0: a check asks the VersionSource
//     for the org's version when the last answer came from a query that started
//     d or more ago, so a check starting at time t sees every change committed
//     before t − d: worst-case staleness d, for changes made by any process
//     (add the replica's lag if the VersionSource reads a replica). Cost: one
//     primary-key read per org per d, amortized over that org's checks. With
//     d = 0 every check asks: staleness zero, one such read per check.
//   - Watch with a Watcher (PostgreSQL LISTEN/NOTIFY, for several instances):
//     while subscribed, a change is seen once its notification, sent at
//     commit, reaches this instance and Invalidate returns: the delivery
//     latency, typically under a millisecond on one network, with no hard
//     bound of its own; MaxStaleness, if set, is the hard bound. While not
//     subscribed, nothing is trusted: each check asks the VersionSource
//     (staleness zero), or without one reads the user's grants afresh
//     (staleness zero, one query per check); on resubscribing the whole cache
//     is dropped, since notifications were lost meanwhile.
//
// With none of them, in one process holding every write, Invalidate alone
// suffices; a change made by any other process (another server, a CLI) would
// go unseen until then, so give such deployments a VersionSource.
//
// Correctness under races rests on one rule: a user's grants are read only
// after the table they will be stored in has been obtained, and a table is
// only created for a version already known. So a grant set read before a
// change committed can only sit in a table of an older version, which no check
// uses once the newer version is known. Grants and versions should be read
// from the primary: with a replica, its replay lag adds to every bound above.
//
// A check that overlaps a change (starts before its Invalidate returns) may
// answer either way; that is inherent in any cache, and the guards, which run
// inside the changing transaction, read the database, not the cache.
package rbac
