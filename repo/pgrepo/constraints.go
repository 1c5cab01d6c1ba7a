package pgrepo

import "strings"

// The schema (migrations/pg) names its constraints; these turn a violated
// constraint into the input field, or the referenced thing, an error is about
// (package constraint does it for unique keys, for both adapters).

// checkField returns the input field a check constraint or column guards.
func checkField(constraint, column string) string {
	switch {
	case constraint == "orgs_slug_form":
		return "slug"
	case constraint == "users_email_form":
		return "email"
	case strings.HasSuffix(constraint, "_name_len"), strings.HasSuffix(constraint, "_name_form"):
		return "name"
	case constraint != "":
		// e.g. projects_description_len -> description
		parts := strings.Split(constraint, "_")
		if len(parts) >= 3 {
			return strings.Join(parts[1:len(parts)-1], "_")
		}
	}
	return column
}

// referencedThing names what a foreign key points at.
func referencedThing(constraint string) string {
	switch {
	case strings.Contains(constraint, "project_id"):
		return "project"
	case strings.Contains(constraint, "role_id"):
		return "role"
	case constraint == "memberships_user_id_fkey":
		return "user"
	case strings.Contains(constraint, "user_id"):
		return "member"
	case strings.Contains(constraint, "org_id"):
		return "org"
	}
	return "row"
}
