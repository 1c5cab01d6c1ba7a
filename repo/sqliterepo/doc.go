// Package sqliterepo implements repo.DB on SQLite, over the sqlc-generated
// package db/sqlite and the pure-Go driver modernc.org/sqlite.
//
//	db, err := sqliterepo.Open(ctx, "strata.db", sqliterepo.Options{})
//	if err != nil {
//		return err
//	}
//	defer db.Close()
//	org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: "acme", Name: "Acme"})
//
// A DB holds two connection pools on the same database. The writer pool has
// exactly one connection: every write and every transaction (InTx) runs on
// it, with BEGIN IMMEDIATE, so the process never races itself for SQLite's
// write lock and never sees SQLITE_BUSY from its own writers. The reader pool
// holds read-only connections (PRAGMA query_only) that serve the read methods
// of the DB's Store outside transactions; in WAL mode they read concurrently
// with the writer and see everything it has committed. Inside InTx every
// call, read or write, goes through the transaction. Reads outside
// transactions prepare each query once per pool.
//
// Transactions take the writer in turn, first come, first served, and those
// that queue up behind one another commit together: each runs under its own
// savepoint inside one BEGIN IMMEDIATE ... COMMIT, so that a failed one rolls
// back alone, and each InTx returns only once the shared COMMIT is done
// (group commit; see the writer type). Under concurrent writes this spends
// one COMMIT on many transactions; a lone writer pays nothing for it.
//
// A file database runs in WAL mode with synchronous=NORMAL, foreign keys on
// and a busy timeout. The path ":memory:" opens a private in-memory database
// (SQLite's memdb VFS under a name unique to the Open) that all connections of
// the DB share and that lives until Close; it cannot use WAL.
//
// Open does not create the schema; run the migrations in
// github.com/strata-go/strata/migrations on Writer first.
//
// Times are stored as TEXT in one fixed-width UTC layout,
// 2006-01-02T15:04:05.000000Z, so that text order is time order.
//
// Because the writer pool has one connection, fn passed to InTx must use
// only the Store it is given: a write through the DB itself from inside fn
// waits for the connection that fn's own transaction holds, until its
// context ends. For the same reason fn must not wait for another
// transaction of the DB to commit: that one may be waiting for fn's
// group to commit.
package sqliterepo
