package rbac_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// FuzzPermissions holds the permission-string functions to one another:
// ValidatePermissions accepts exactly the grants Expand knows (a known
// permission, "*", "resource.*" of a known resource), refusing the rest
// with an ErrInvalid naming "permissions"; on known permissions Matches
// agrees with Expand; and Matches only ever widens by "*" or "resource.*".
func FuzzPermissions(f *testing.F) {
	for _, p := range []string{"projects.read", "projects.*", "*", "org.delete", "billing.*", "projects",
		"projects.read.*", "*.read", "**", "", "Projects.Read", " projects.read", "projects.", ".*", "projects.*x",
		"audit.read", "apikeys.*", "a.b.c", strings.Repeat("a", 101)} {
		f.Add(p, "projects.read")
		f.Add("projects.*", p)
	}
	f.Fuzz(func(t *testing.T, grant, perm string) {
		err := rbac.ValidatePermissions([]string{grant})
		expanded := rbac.Expand(grant)
		if (err == nil) != (len(expanded) > 0) {
			t.Fatalf("ValidatePermissions(%q) = %v, but Expand gives %q", grant, err, expanded)
		}
		if err != nil && (repo.KindOf(err) != repo.ErrInvalid || repo.FieldOf(err) != "permissions") {
			t.Fatalf("ValidatePermissions(%q) = %v, want ErrInvalid naming permissions", grant, err)
		}
		if err == nil && repo.ValidatePermissionForm([]string{grant}) != nil {
			t.Fatalf("%q is valid but not of the permission form", grant)
		}
		if rbac.Known(grant) && !slices.Equal(expanded, []string{grant}) {
			t.Fatalf("Expand(%q) = %q, want itself", grant, expanded)
		}
		both := rbac.ValidatePermissions([]string{grant, perm})
		if (both == nil) != (err == nil && len(rbac.Expand(perm)) > 0) {
			t.Fatalf("ValidatePermissions(%q, %q) = %v, unlike each alone", grant, perm, both)
		}

		if !rbac.Matches(grant, grant) || !rbac.Matches(rbac.Wildcard, perm) {
			t.Fatalf("Matches is not reflexive or * does not match %q", perm)
		}
		if rbac.Matches(grant, perm) && grant != perm && grant != rbac.Wildcard {
			res, ok := strings.CutSuffix(grant, "*")
			if !ok || !strings.HasSuffix(res, ".") || !strings.HasPrefix(perm, res) ||
				len(perm) == len(res) || strings.Contains(perm[len(res):], ".") {
				t.Fatalf("Matches(%q, %q) is true", grant, perm)
			}
		}
		if err == nil {
			// For a valid grant, Matches over the known permissions is Expand.
			var matched []string
			for _, p := range rbac.All() {
				if rbac.Matches(grant, p) {
					matched = append(matched, p)
				}
			}
			if !slices.Equal(matched, expanded) {
				t.Fatalf("grant %q matches %q but expands to %q", grant, matched, expanded)
			}
		}
		if rbac.ProjectScoped(perm) && (!rbac.Known(perm) || !strings.HasPrefix(perm, "projects.")) {
			t.Fatalf("ProjectScoped(%q) is true", perm)
		}
	})
}
