// Package repotest is the conformance suite every implementation of the repo
// interfaces must pass, written once and run against each dialect.
//
//	// in repo/sqliterepo/conformance_test.go:
//	func TestConformance(t *testing.T) {
//		repotest.Run(t, repotest.Harness{
//			Dialect: repo.SQLite,
//			Open: func(t *testing.T) repo.DB {
//				db := openMigrated(t) // fresh, migrated and empty
//				t.Cleanup(func() { db.Close() })
//				return db
//			},
//		})
//	}
//
// In the spirit of testing/fstest.TestFS, [Run] exercises every repository
// (Orgs, Users, Memberships, Roles, RoleBindings, Projects, APIKeys,
// AuditEvents) and the Store's transactions through the repo interfaces
// only: round trips of every field, input validation (ErrInvalid naming the
// field, nothing written), uniqueness (ErrConflict naming the field of the
// unique key), unknown and foreign IDs (ErrNotFound), tenant isolation,
// keyset pagination and its stability, the audit hash chain, and commit,
// rollback, retry and concurrency of InTx.
//
// Each case is a subtest named after the repository and behaviour, such as
// "Projects/CreateDuplicateName", so one case is run with
//
//	go test ./repo/sqliterepo -run 'TestConformance/Projects/CreateDuplicateName$'
//
// Each case gets its own database from [Harness.Open]. When all have run,
// Run prints how many passed and failed, e.g.
//
//	conformance[sqlite]: 317 cases passed, 0 failed, 0 skipped
//
// The line goes to standard output. go test shows it when run in the
// package's directory without package arguments, with -v, and whenever the
// package fails; in package list mode (go test ./...) go test prints only
// the "ok" line of a package that passes. Set [SummaryEnv] to a file name to
// have the line appended there too: make test does, and prints the file.
package repotest
