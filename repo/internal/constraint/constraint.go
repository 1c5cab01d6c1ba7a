// Package constraint names the input field a violated unique key is about,
// so that both adapters name the same field in the ErrConflict of a unique
// violation, with no list of keys to keep by hand.
//
// The rule: a key is about its last column, the one the caller chose within
// the scope of the columns before it (projects (org_id, name) -> "name",
// memberships (org_id, user_id) -> "user_id"); about no field when that
// column is id (the adapters make IDs) or the table is the audit trail's
// (audit_*: the adapters make every audit key). A new table's keys thus
// need no declaration. The few keys the rule gets wrong, or cannot see
// because they index expressions, are the exceptions (see Exceptions).
//
// Each adapter tells Field what it knows of the violated key: PostgreSQL
// reports its name, which pgrepo resolves to the table and columns through
// the catalog; SQLite reports the table and columns of a key on columns,
// and the name of an index on expressions.
//
//	constraint.Field(constraint.Key{Table: "projects", Columns: []string{"org_id", "name"}}) // "name"
//	constraint.Field(constraint.Key{Name: "users_email_key"})                               // "email"
package constraint

import (
	"slices"
	"strings"
)

// Key is what an adapter knows of a unique key: a primary key, a UNIQUE
// constraint or a unique index.
type Key struct {
	// Name is the key's name, e.g. "projects_org_name_key"; "" when
	// unknown (SQLite reports a key on columns by its columns only).
	Name string
	// Table is the table the key is on; "" when unknown (SQLite reports an
	// index on expressions by its name only).
	Table string
	// Columns are the key's columns in order, or nil when the key indexes
	// an expression or they are unknown.
	Columns []string
}

// Exception is a unique key whose field the rule gets wrong or cannot see,
// with the field it is about.
type Exception struct {
	// Key identifies the key: by Name, or by Table and Columns when they
	// are set (SQLite reports a key on columns by them only).
	Key
	// Field is the input field (its JSON name) a violation is about, or ""
	// for none.
	Field string
}

// exceptions are the keys the rule does not name right. Every one is in
// both dialects' schemas (pgrepo's tests check it).
var exceptions = []Exception{
	// On lower(email): an expression, which the rule cannot see.
	{Key: Key{Name: "users_email_key", Table: "users"}, Field: "email"},
	// The user, the role and the project together make a grant: no one of
	// them is the field at fault. On ifnull(project_id, '') in SQLite.
	{Key: Key{Name: "role_bindings_grant_key", Table: "role_bindings"}},
	// The key's hash comes from a header (Idempotency-Key), not a field of
	// the input, and a key claimed twice is the service's to answer (409
	// or a replay).
	{Key: Key{Name: "idempotency_keys_pkey", Table: "idempotency_keys", Columns: []string{"org_id", "api_key_id", "key_hash"}}},
}

// Exceptions returns the keys whose field is declared rather than derived.
// The caller must not modify it.
func Exceptions() []Exception { return exceptions }

// Field returns the input field (its JSON name) a violation of k is about,
// or "" when no single input field is: the rule of the package doc, or the
// key's exception.
func Field(k Key) string {
	for _, e := range exceptions {
		if e.Matches(k) {
			return e.Field
		}
	}
	if len(k.Columns) == 0 || strings.HasPrefix(k.Table, "audit_") {
		return ""
	}
	if last := k.Columns[len(k.Columns)-1]; last != "id" {
		return last
	}
	return ""
}

// Matches reports whether k is the exception's key: the same name, or the
// same table and columns.
func (e Exception) Matches(k Key) bool {
	if k.Name != "" && k.Name == e.Name {
		return true
	}
	return e.Columns != nil && k.Table == e.Table && slices.Equal(k.Columns, e.Columns)
}
