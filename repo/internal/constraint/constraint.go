// Package constraint lists the unique keys of Strata's schema and the input
// field each one guards, so that both adapters name the same field in the
// ErrConflict of a unique violation.
//
// PostgreSQL reports a violated key by its name (migrations/pg names every
// one). SQLite reports an index on expressions by its name, which
// migrations/sqlite makes the same as PostgreSQL's, and any other key only
// by its table and columns; so each key is listed with both.
//
//	u, ok := constraint.Named("projects_org_name_key")          // u.Field == "name"
//	u, ok = constraint.On("projects", []string{"org_id", "name"}) // the same key
package constraint

import "slices"

// Unique is one unique key of the schema: a primary key, a UNIQUE
// constraint or a unique index.
type Unique struct {
	// Name is the key's name in migrations/pg, e.g. "projects_org_name_key".
	Name string
	// Table is the table the key is on.
	Table string
	// Columns are the key's columns in order, or nil when the key indexes
	// an expression (SQLite then reports the index by Name).
	Columns []string
	// Field is the input field (its JSON name) a violation is about: the
	// one the caller chose that made the key. "" when no single input field
	// does: the adapter made the key (IDs), or several fields make it.
	Field string
}

// uniques are the keys of every table but the audit trail's, whose keys
// (sequence numbers, event IDs) the adapters make and the audit redesign
// owns.
var uniques = []Unique{
	{Name: "orgs_pkey", Table: "orgs", Columns: []string{"id"}},
	{Name: "orgs_slug_key", Table: "orgs", Columns: []string{"slug"}, Field: "slug"},
	{Name: "users_pkey", Table: "users", Columns: []string{"id"}},
	{Name: "users_email_key", Table: "users", Field: "email"}, // on lower(email)
	{Name: "memberships_pkey", Table: "memberships", Columns: []string{"org_id", "user_id"}, Field: "user_id"},
	{Name: "roles_pkey", Table: "roles", Columns: []string{"id"}},
	{Name: "roles_org_id_key", Table: "roles", Columns: []string{"org_id", "id"}},
	{Name: "roles_org_name_key", Table: "roles", Columns: []string{"org_id", "name"}, Field: "name"},
	{Name: "projects_pkey", Table: "projects", Columns: []string{"id"}},
	{Name: "projects_org_id_key", Table: "projects", Columns: []string{"org_id", "id"}},
	{Name: "projects_org_name_key", Table: "projects", Columns: []string{"org_id", "name"}, Field: "name"},
	{Name: "environments_pkey", Table: "environments", Columns: []string{"id"}},
	{Name: "environments_project_name_key", Table: "environments", Columns: []string{"org_id", "project_id", "name"}, Field: "name"},
	{Name: "role_bindings_pkey", Table: "role_bindings", Columns: []string{"id"}},
	// The user, the role and the project together make a grant.
	{Name: "role_bindings_grant_key", Table: "role_bindings"}, // on ifnull(project_id, '') in SQLite
	{Name: "api_keys_pkey", Table: "api_keys", Columns: []string{"id"}},
	{Name: "api_keys_org_id_key", Table: "api_keys", Columns: []string{"org_id", "id"}},
	// A key claimed twice is the service's to answer (409 or a replay).
	{Name: "idempotency_keys_pkey", Table: "idempotency_keys", Columns: []string{"org_id", "api_key_id", "key_hash"}},
}

// Uniques returns every unique key of the schema's tables except the audit
// trail's. The caller must not modify it.
func Uniques() []Unique { return uniques }

// Named returns the unique key called name.
func Named(name string) (Unique, bool) {
	i := slices.IndexFunc(uniques, func(u Unique) bool { return u.Name == name })
	if i < 0 {
		return Unique{}, false
	}
	return uniques[i], true
}

// On returns the unique key of table over exactly columns, in order; never
// a key on expressions.
func On(table string, columns []string) (Unique, bool) {
	i := slices.IndexFunc(uniques, func(u Unique) bool {
		return u.Table == table && u.Columns != nil && slices.Equal(u.Columns, columns)
	})
	if i < 0 {
		return Unique{}, false
	}
	return uniques[i], true
}
