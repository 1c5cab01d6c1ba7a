package rbac_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/repo/sqliterepo"
)

// BenchmarkCheckSQLite is BenchmarkCheck with the grants read from an SQLite
// database holding the org's bindings: the uncached check is one indexed
// query, whose cost must not grow with the org's size either.
func BenchmarkCheckSQLite(b *testing.B) {
	db, ok := testdb.Open(b, repo.SQLite).(*sqliterepo.DB)
	if !ok {
		b.Fatal("testdb.Open(SQLite) is not a *sqliterepo.DB: cannot bulk-load")
	}
	for _, n := range benchSizes {
		o := sqliteOrg(b, db, n)
		benchChecks(b, "sqlite-", n, o, db.RoleBindings(), false)
	}
}

// sqliteOrg stores an org of n bindings, shaped like newBenchOrg's: each
// user is an org-wide member and the editor of one of at most 100 projects.
// The org and its roles and projects go through the repo; the users,
// memberships and bindings, in bulk, through SQL on the writer connection.
func sqliteOrg(b *testing.B, db *sqliterepo.DB, n int) *benchOrg {
	ctx := context.Background()
	o := &benchOrg{}
	var member, editor repo.Role
	var projects []uuid.UUID
	err := db.InTx(ctx, func(tx repo.Store) error {
		org, err := tx.Orgs().Create(ctx, repo.NewOrg{Slug: fmt.Sprint("bench-", n), Name: "Bench"})
		if err != nil {
			return err
		}
		o.org = org.ID
		if err := rbac.SeedBuiltinRoles(ctx, tx, org.ID); err != nil {
			return err
		}
		if member, err = tx.Roles().GetByName(ctx, org.ID, rbac.Member); err != nil {
			return err
		}
		if editor, err = tx.Roles().Create(ctx, org.ID, repo.NewRole{Name: "editor", Permissions: []string{"projects.*"}}); err != nil {
			return err
		}
		for i := range min(n/2, 100) {
			p, err := tx.Projects().Create(ctx, org.ID, repo.NewProject{Name: fmt.Sprint("p", i)})
			if err != nil {
				return err
			}
			projects = append(projects, p.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	now := repo.Now().Format("2006-01-02T15:04:05.000000Z")
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	const (
		insertUser    = `INSERT INTO users (id, email, name, status, created_at, updated_at) VALUES (?, ?, '', 'active', ?, ?)`
		insertMember  = `INSERT INTO memberships (org_id, user_id, created_at) VALUES (?, ?, ?)`
		insertBinding = `INSERT INTO role_bindings (id, org_id, user_id, role_id, project_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`
	)
	for i := range n / 2 {
		u, p := repo.NewID(), projects[i%len(projects)]
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{insertUser, []any{u.String(), fmt.Sprintf("u%d-%d@bench.test", n, i), now, now}},
			{insertMember, []any{o.org.String(), u.String(), now}},
			{insertBinding, []any{repo.NewID().String(), o.org.String(), u.String(), member.ID.String(), nil, now}},
			{insertBinding, []any{repo.NewID().String(), o.org.String(), u.String(), editor.ID.String(), p.String(), now}},
		} {
			if _, err := tx.ExecContext(ctx, stmt.sql, stmt.args...); err != nil {
				b.Fatal(err)
			}
		}
		o.users = append(o.users, u)
		o.projects = append(o.projects, p)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// One check through the repo proves the rows are what the adapter reads.
	d, err := rbac.Decide(ctx, db.RoleBindings(), o.org, o.users[0], rbac.ProjectsDelete, &o.projects[0])
	if err != nil || !d.Allowed {
		b.Fatalf("bulk-loaded binding not granted: %+v, %v", d, err)
	}
	return o
}
