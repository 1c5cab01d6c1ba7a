package repo

import (
	"errors"
	"fmt"
)

// RowError is an error about one row of a bulk input, such as
// Projects.Import's. Row counts from 1. Err is a vocabulary error, so
// errors.Is(err, ErrConflict), KindOf and FieldOf see through a RowError.
type RowError struct {
	Row int64
	Err error
}

// Error implements error: "row 17: name: must not be empty".
func (e *RowError) Error() string { return fmt.Sprintf("row %d: %v", e.Row, e.Err) }

// Unwrap returns the error about the row.
func (e *RowError) Unwrap() error { return e.Err }

// RowOf returns the row a bulk operation's error names, or 0.
func RowOf(err error) int64 {
	var re *RowError
	if errors.As(err, &re) {
		return re.Row
	}
	return 0
}

// ShiftRows returns err with the row it names moved by offset, for a bulk
// input fed to the repository in pieces (the rows of piece k start at
// offset+1); any other error is returned as it is.
func ShiftRows(err error, offset int64) error {
	var re *RowError
	if offset == 0 || !errors.As(err, &re) {
		return err
	}
	return &RowError{Row: re.Row + offset, Err: re.Err}
}

// ValidateImport checks the rows of Projects.Import: each as
// ValidateNewProject does, and no name twice. The first bad row is a
// *RowError wrapping ErrInvalid (the field named) or, for a repeated name,
// ErrConflict.
func ValidateImport(rows []NewProject) error {
	seen := make(map[string]int, len(rows))
	for i, in := range rows {
		if err := ValidateNewProject(in); err != nil {
			return &RowError{Row: int64(i) + 1, Err: err}
		}
		if j, dup := seen[in.Name]; dup {
			return &RowError{Row: int64(i) + 1, Err: &Error{Kind: ErrConflict, Field: "name",
				Message: fmt.Sprintf("project name %q repeats row %d", in.Name, j+1)}}
		}
		seen[in.Name] = i
	}
	return nil
}

// NameTaken is the error of Projects.Import for a row whose name a project of
// the org already has.
func NameTaken(row int64, name string) error {
	return &RowError{Row: row, Err: &Error{Kind: ErrConflict, Field: "name",
		Message: fmt.Sprintf("a project named %q already exists", name)}}
}
