// Package pgtest starts ephemeral PostgreSQL clusters for tests.
//
// Most tests need only a database: [NewDatabase] gives each test its own,
// cloned from a template database that is built (migrated) once per
// process, on a server shared by all tests of the process (see
// [SharedServer]). Tests of restarts, crashes and replication start their
// own [Cluster] with [NewCluster], and replicas of it with
// [Cluster.StartReplica].
//
// A test package using pgtest calls [Main] from TestMain so that the
// shared cluster is stopped at the end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	var schema = pgtest.Template{ID: "schema-v1", Build: migrate}
//
//	func TestX(t *testing.T) {
//		url := pgtest.NewDatabase(t, schema)
//		...
//	}
//
// Clusters run the PostgreSQL binaries found in /usr/lib/postgresql/15/bin
// (or the directory named by [BinDirEnv]) as child processes of the test
// binary, as the "postgres" OS user when the test runs as root, with their
// files in a temporary directory (under os.TempDir, or [TempDirEnv]). They
// are tuned for speed, not durability. On Linux the kernel shuts a cluster down when the test
// process dies, however it dies. Set [URLEnv] to use an existing server
// instead, and [RequireEnv] to make tests fail rather than skip when
// PostgreSQL is not available.
package pgtest
