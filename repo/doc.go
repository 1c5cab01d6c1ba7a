// Package repo is Strata's data layer as its consumers see it: domain types,
// one interface per repository, a Store that hands them out and runs
// transactions, and one error vocabulary. It imports no database driver; the
// adapters in repo/pgrepo and repo/sqliterepo implement it over sqlc-generated
// code, and repo/repotest holds the conformance suite both must pass.
//
//	err := store.InTx(ctx, func(tx repo.Store) error {
//		p, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: "apollo"})
//		if err != nil {
//			return err // rolls back
//		}
//		_, err = tx.AuditEvents().Append(ctx, event(p), audit.Seal)
//		return err // commits on nil
//	})
//	if errors.Is(err, repo.ErrConflict) { ... }
package repo
