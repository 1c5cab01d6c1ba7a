package rbac_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

func TestValidatePermissions(t *testing.T) {
	valid := [][]string{
		nil,
		strings.Fields(everyPermission),
		{"*"},
		{"projects.*"},
		{"org.*", "members.*", "roles.*", "projects.*", "apikeys.*", "audit.*"},
		{"projects.read", "projects.*", "*"},
	}
	for _, perms := range valid {
		if err := rbac.ValidatePermissions(perms); err != nil {
			t.Errorf("ValidatePermissions(%q) = %v, want nil", perms, err)
		}
	}
	invalid := [][]string{
		{"projects.archive"}, // unknown verb
		{"billing.read"},     // unknown resource
		{"billing.*"},        // wildcard over an unknown resource
		{"projects"},         // no verb
		{"projects.read.*"},  // too deep
		{"*.read"},
		{"**"},
		{"projects.*.read"},
		{""},
		{"Projects.Read"},
		{"projects.read", "nope"},
		{" projects.read"},
	}
	for _, perms := range invalid {
		err := rbac.ValidatePermissions(perms)
		if !errors.Is(err, repo.ErrInvalid) || repo.FieldOf(err) != "permissions" {
			t.Errorf("ValidatePermissions(%q) = %v, want ErrInvalid on permissions", perms, err)
		}
	}
	if err := rbac.ValidatePermissions(slices.Repeat([]string{"org.read"}, repo.MaxPermissions+1)); !errors.Is(err, repo.ErrInvalid) {
		t.Errorf("too many permissions: %v", err)
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		grant, perm string
		want        bool
	}{
		{"projects.read", "projects.read", true},
		{"projects.read", "projects.update", false},
		{"projects.*", "projects.read", true},
		{"projects.*", "projects.delete", true},
		{"projects.*", "projects.*", true},
		{"projects.*", "org.read", false},
		{"projects.*", "projectsx.read", false},
		{"projects.*", "projects.", false},
		{"projects.*", "projects.read.deep", false},
		{"projects.*", "*", false},
		{"*", "org.delete", true},
		{"*", "projects.*", true},
		{"*", "*", true},
		{"org.read", "*", false},
		{"org.read", "org.*", false},
		{"proj*", "projects.read", false},
		{"", "org.read", false},
	} {
		if got := rbac.Matches(tc.grant, tc.perm); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tc.grant, tc.perm, got, tc.want)
		}
	}
}

func TestExpandAndKnown(t *testing.T) {
	for grant, want := range map[string]string{
		"*":             everyPermission,
		"projects.*":    "projects.read projects.create projects.update projects.delete",
		"audit.*":       "audit.read",
		"org.update":    "org.update",
		"billing.*":     "",
		"projects.nope": "",
	} {
		if got := rbac.Expand(grant); !slices.Equal(got, strings.Fields(want)) {
			t.Errorf("Expand(%q) = %v, want %v", grant, got, want)
		}
	}
	for _, p := range strings.Fields(everyPermission) {
		if !rbac.Known(p) {
			t.Errorf("Known(%s) = false", p)
		}
	}
	for _, p := range []string{"*", "projects.*", "projects.archive", ""} {
		if rbac.Known(p) {
			t.Errorf("Known(%q) = true", p)
		}
	}
}
