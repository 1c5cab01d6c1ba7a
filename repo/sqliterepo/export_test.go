package sqliterepo

import "github.com/strata-go/strata/repo"

// CodeError exposes codeError to the external tests: the repo error for an
// SQLite result code of a statement about "thing", a delete when onDelete.
func CodeError(code int, onDelete bool, cause error) *repo.Error {
	o := opWrite
	if onDelete {
		o = opDelete
	}
	return codeError(code, "thing", o, cause)
}

// Queued returns the number of transactions waiting for db's writer.
func Queued(db *DB) int {
	db.w.mu.Lock()
	defer db.w.mu.Unlock()
	return len(db.w.queue)
}

// Commits returns the groups db's writer committed and the transactions in
// them.
func Commits(db *DB) (groups, transactions uint64) {
	return db.w.commits.Load(), db.w.members.Load()
}

// BreakGroup rolls back the group transaction open on db's writer, as an
// error that ends the whole transaction (SQLITE_FULL, say) would. Call it
// from inside InTx.
func BreakGroup(db *DB) error {
	_, err := db.w.open.tx.Exec("ROLLBACK")
	return err
}

// StaleHeads returns the appends db's writer sealed again after the head
// guard refused them against a cached chain head.
func StaleHeads(db *DB) uint64 { return db.w.staleHeads.Load() }
