package sqliterepo_test

import (
	"errors"
	"testing"

	"github.com/strata-go/strata/repo"
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
// columns for a key on columns, the name for an index on expressions; and
// names its field (package constraint).
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
		{2067, "constraint failed: UNIQUE constraint failed: environments.org_id, environments.project_id, environments.name (2067)", "name"},
		{1555, "constraint failed: UNIQUE constraint failed: idempotency_keys.org_id, idempotency_keys.api_key_id, idempotency_keys.key_hash (1555)", ""},
		{1555, "constraint failed: UNIQUE constraint failed: audit_events.org_id, audit_events.seq (1555)", ""},
		// Nothing to read, or an index on expressions not declared: no field.
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
