package rbac_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/pgrepo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

// TestBuiltinRolesGrantWhatTheCodeSays stands for an org created by an
// older version, whose stored built-in roles lack a permission the code
// now gives them (here: member's rows left with no permission at all, and
// admin's likewise). Checks, CanGrant and the roles the service
// lists follow the code, on both dialects: a permission added to a
// built-in role reaches the orgs created before it.
func TestBuiltinRolesGrantWhatTheCodeSays(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			ctx := t.Context()
			db := testdb.Open(t, d)
			o := seedOrg(t, db, 1, 1)
			alice := o.members[0]
			member, err := db.Roles().GetByName(ctx, o.org.ID, rbac.Member)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.RoleBindings().Create(ctx, o.org.ID, repo.NewRoleBinding{UserID: alice.ID, RoleID: member.ID}); err != nil {
				t.Fatal(err)
			}
			storeBuiltinPermissions(t, db, rbac.Member, `[]`, `{}`)
			storeBuiltinPermissions(t, db, rbac.Admin, `[]`, `{}`)

			authz := rbac.New(db.RoleBindings(), rbac.Options{})
			if !allowed(t, authz, o.org.ID, alice.ID, rbac.ProjectsUpdate, nil) {
				t.Error("member whose stored role grants nothing: projects.update denied, want allowed (the code grants it)")
			}
			if allowed(t, authz, o.org.ID, alice.ID, rbac.ProjectsDelete, nil) {
				t.Error("member: projects.delete allowed, want denied")
			}
			admin, err := db.Roles().GetByName(ctx, o.org.ID, rbac.Admin)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := rbac.Resolve(admin).Permissions, rbac.BuiltinRoles()[1].Permissions; !slices.Equal(got, want) {
				t.Errorf("Resolve(admin).Permissions = %v, want the code's %v", got, want)
			}
			// Alice (member) may not hand out admin: it grants more than
			// she holds, whatever its stored row says.
			if err := rbac.CanGrant(ctx, db, o.org.ID, alice.ID, admin, nil); !errors.Is(err, repo.ErrForbidden) {
				t.Errorf("member granting admin (stored as granting nothing): %v, want ErrForbidden", err)
			}
		})
	}
}

// storeBuiltinPermissions overwrites the stored permissions of every org's
// built-in role name, as an older version could have left them (the
// repository refuses to change a built-in role, so this goes around it).
func storeBuiltinPermissions(t *testing.T, db repo.DB, name, sqliteJSON, pgArray string) {
	t.Helper()
	var err error
	switch db := db.(type) {
	case *sqliterepo.DB:
		_, err = db.Writer().ExecContext(context.Background(), "UPDATE roles SET permissions = ? WHERE name = ? AND builtin", sqliteJSON, name)
	case *pgrepo.DB:
		_, err = db.Pool().Exec(context.Background(), "UPDATE roles SET permissions = $1 WHERE name = $2 AND builtin", pgArray, name)
	default:
		t.Fatalf("unknown DB %T", db)
	}
	if err != nil {
		t.Fatal(err)
	}
}
