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
