package sqliterepo_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/internal/constraint"
	"github.com/strata-go/strata/repo/sqliterepo"
)

func TestCodeError(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name      string
		code      int
		onDelete  bool
		kind      error
		retryable bool
	}{
		{"unique", 2067, false, repo.ErrConflict, false},
		{"primary key", 1555, false, repo.ErrConflict, false},
		{"foreign key on insert", 787, false, repo.ErrNotFound, false},
		{"foreign key on delete", 787, true, repo.ErrConflict, false},
		{"check", 275, false, repo.ErrInvalid, false},
		{"not null", 1299, false, repo.ErrInvalid, false},
		{"trigger", 1811, false, repo.ErrConflict, false},
		{"busy", 5, false, repo.ErrUnavailable, true},
		{"busy recovery", 261, false, repo.ErrUnavailable, true},
		{"busy snapshot", 517, false, repo.ErrUnavailable, true},
		{"busy timeout", 773, false, repo.ErrUnavailable, true},
		{"locked", 6, false, repo.ErrUnavailable, true},
		{"locked shared cache", 262, false, repo.ErrUnavailable, true},
		{"full", 13, false, repo.ErrUnavailable, false},
		{"readonly", 8, false, repo.ErrUnavailable, false},
		{"readonly db moved", 1032, false, repo.ErrUnavailable, false},
		{"ioerr", 10, false, repo.ErrUnavailable, false},
		{"ioerr read", 266, false, repo.ErrUnavailable, false},
		{"cantopen", 14, false, repo.ErrUnavailable, false},
		{"plain constraint", 19, false, repo.ErrInternal, false},
		{"generic error", 1, false, repo.ErrInternal, false},
		{"corrupt", 11, false, repo.ErrInternal, false},
		{"interrupt", 9, false, repo.ErrInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sqliterepo.CodeError(tt.code, tt.onDelete, cause)
			if got := repo.KindOf(err); got != tt.kind {
				t.Errorf("code %d: kind %v, want %v", tt.code, got, tt.kind)
			}
			if err.Retryable != tt.retryable {
				t.Errorf("code %d: retryable %v, want %v", tt.code, err.Retryable, tt.retryable)
			}
			if !errors.Is(err, cause) {
				t.Errorf("code %d: cause not kept in Err", tt.code)
			}
		})
	}
}

// TestUniqueViolationField reads the unique key out of the messages SQLite
// writes for UNIQUE and PRIMARY KEY violations (as the driver wraps them):
// columns for a key on columns, the name for an index on expressions.
func TestUniqueViolationField(t *testing.T) {
	for _, tt := range []struct {
		code  int
		msg   string
		field string
	}{
		{2067, "constraint failed: UNIQUE constraint failed: orgs.slug (2067)", "slug"},
		{2067, "constraint failed: UNIQUE constraint failed: index 'users_email_key' (2067)", "email"},
		{2067, "constraint failed: UNIQUE constraint failed: projects.org_id, projects.name (2067)", "name"},
		{1555, "constraint failed: UNIQUE constraint failed: memberships.org_id, memberships.user_id (1555)", "user_id"},
		{2067, "UNIQUE constraint failed: roles.org_id, roles.name", "name"},
		{1555, "constraint failed: UNIQUE constraint failed: orgs.id (1555)", ""},
		{2067, "constraint failed: UNIQUE constraint failed: index 'role_bindings_grant_key' (2067)", ""},
		// Nothing the schema has, or nothing to read: no field.
		{2067, "constraint failed: UNIQUE constraint failed: projects.name (2067)", ""},
		{2067, "constraint failed: UNIQUE constraint failed: orgs.org_id, projects.name (2067)", ""},
		{2067, "constraint failed: UNIQUE constraint failed: index 'nope' (2067)", ""},
		{2067, "constraint failed (2067)", ""},
	} {
		err := sqliterepo.CodeError(tt.code, false, errors.New(tt.msg))
		if repo.KindOf(err) != repo.ErrConflict || err.Field != tt.field {
			t.Errorf("%q: kind %v, field %q; want conflict, field %q", tt.msg, repo.KindOf(err), err.Field, tt.field)
		}
	}
}

// TestUniqueKeysDeclared checks package constraint against the migrated
// SQLite schema: each unique key of a table (but the audit trail's) is
// declared, by its columns, or by its name when it indexes an expression,
// and each declared key is in the schema.
func TestUniqueKeysDeclared(t *testing.T) {
	db := openMigrated(t)
	rows, err := db.Writer().QueryContext(t.Context(), `
		SELECT m.name, il.name,
		       (SELECT json_group_array(name) FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno))
		FROM sqlite_schema m, pragma_index_list(m.name) il
		WHERE m.type = 'table' AND il."unique" AND m.name NOT LIKE 'audit!_%' ESCAPE '!'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var table, index, list string
		if err := rows.Scan(&table, &index, &list); err != nil {
			t.Fatal(err)
		}
		var cols []*string // nil for an expression
		if err := json.Unmarshal([]byte(list), &cols); err != nil {
			t.Fatal(err)
		}
		u, ok := constraint.Named(index)
		if !slices.Contains(cols, nil) {
			names := make([]string, len(cols))
			for i, c := range cols {
				names[i] = *c
			}
			u, ok = constraint.On(table, names)
			index = table + "(" + list + ")"
		}
		if !ok || u.Table != table {
			t.Errorf("unique key %s of table %s is not declared in package constraint", index, table)
			continue
		}
		found = append(found, u.Name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, u := range constraint.Uniques() {
		if !slices.Contains(found, u.Name) {
			t.Errorf("declared unique key %s (%s %v) is not in the SQLite schema", u.Name, u.Table, u.Columns)
		}
	}
}
