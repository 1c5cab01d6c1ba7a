package constraint_test

import (
	"testing"

	"github.com/strata-go/strata/repo/internal/constraint"
)

// TestField names the field of each unique key of the schema as adapters
// see it (PostgreSQL: name, table and columns, from the catalog; SQLite:
// the table and columns, or the name of an index on expressions), and of
// the environments key the rule alone must get right.
func TestField(t *testing.T) {
	cols := func(c ...string) []string { return c }
	for _, tt := range []struct {
		key   constraint.Key
		field string
	}{
		{constraint.Key{Name: "orgs_pkey", Table: "orgs", Columns: cols("id")}, ""},
		{constraint.Key{Table: "orgs", Columns: cols("slug")}, "slug"},
		{constraint.Key{Name: "users_email_key", Table: "users"}, "email"},
		{constraint.Key{Name: "users_email_key"}, "email"},
		{constraint.Key{Table: "memberships", Columns: cols("org_id", "user_id")}, "user_id"},
		{constraint.Key{Name: "roles_org_id_key", Table: "roles", Columns: cols("org_id", "id")}, ""},
		{constraint.Key{Name: "projects_org_name_key", Table: "projects", Columns: cols("org_id", "name")}, "name"},
		{constraint.Key{Table: "environments", Columns: cols("org_id", "project_id", "name")}, "name"},
		{constraint.Key{Name: "role_bindings_grant_key", Table: "role_bindings", Columns: cols("org_id", "user_id", "role_id", "project_id")}, ""},
		{constraint.Key{Name: "role_bindings_grant_key"}, ""},
		{constraint.Key{Name: "idempotency_keys_pkey", Table: "idempotency_keys", Columns: cols("org_id", "api_key_id", "key_hash")}, ""},
		{constraint.Key{Table: "idempotency_keys", Columns: cols("org_id", "api_key_id", "key_hash")}, ""},
		{constraint.Key{Table: "audit_events", Columns: cols("org_id", "seq")}, ""},
		{constraint.Key{Table: "audit_heads", Columns: cols("chain")}, ""},
		// Nothing to go by: an unknown index on expressions, no key.
		{constraint.Key{Name: "nope"}, ""},
		{constraint.Key{}, ""},
	} {
		if got := constraint.Field(tt.key); got != tt.field {
			t.Errorf("Field(%+v) = %q, want %q", tt.key, got, tt.field)
		}
	}
}
