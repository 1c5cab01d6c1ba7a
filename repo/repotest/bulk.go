package repotest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strata-go/strata/repo"
)

// importRows returns n valid rows named prefix-1 ... prefix-n.
func importRows(prefix string, n int) []repo.NewProject {
	rows := make([]repo.NewProject, n)
	for i := range rows {
		rows[i] = repo.NewProject{Name: fmt.Sprintf("%s-%d", prefix, i+1), Description: fmt.Sprintf("row %d", i+1)}
	}
	return rows
}

// wantRow checks that err is a *repo.RowError of kind about row.
func wantRow(e *env, err, kind error, row int64) {
	e.t.Helper()
	wantKind(e.t, err, kind)
	var re *repo.RowError
	if !errors.As(err, &re) || re.Row != row {
		e.t.Fatalf("error %q names row %d, want row %d", err, repo.RowOf(err), row)
	}
}

// sortedNames returns the names of org's projects, sorted.
func (e *env) sortedNames(org repo.Org) []string {
	e.t.Helper()
	names := e.projectNames(org.ID)
	slices.Sort(names)
	return names
}

func importCases() []testCase {
	return []testCase{
		{"Projects/Import", func(e *env) {
			org, other := e.newOrg(), e.newOrg()
			rows := importRows("p", 1200)
			// Text that needs escaping on its way in, whatever the encoding.
			rows[0] = repo.NewProject{Name: `quote " back\slash 'tick' ✓ 𝄞`, Description: "tab\tnew\nline\r\x01 \u2028 </script>"}
			rows[1] = repo.NewProject{Name: strings.Repeat("ß", repo.MaxNameLen)}
			c := clock()
			n := must(e.db.Projects().Import(e.ctx, org.ID, rows)).of(e.t)
			if n != int64(len(rows)) {
				e.t.Errorf("Import = %d, want %d", n, len(rows))
			}
			got := e.projects(org.ID)
			if len(got) != len(rows) {
				e.t.Fatalf("%d projects listed, want %d", len(got), len(rows))
			}
			byName := map[string]repo.Project{}
			for _, p := range got {
				byName[p.Name] = p
				if p.ID.Version() != 7 || p.OrgID != org.ID {
					e.t.Errorf("project %q: ID %v (want a UUIDv7), org %v (want %v)", p.Name, p.ID, p.OrgID, org.ID)
				}
				c.check(e.t, "CreatedAt", p.CreatedAt)
				if !p.UpdatedAt.Equal(p.CreatedAt) {
					e.t.Errorf("project %q: UpdatedAt %v, CreatedAt %v", p.Name, p.UpdatedAt, p.CreatedAt)
				}
			}
			for _, in := range rows {
				p, ok := byName[in.Name]
				if !ok || p.Description != in.Description {
					e.t.Fatalf("row %q: stored as %+v", in.Name, p)
				}
			}
			same(e.t, "Get", must(e.db.Projects().Get(e.ctx, org.ID, byName[rows[0].Name].ID)).of(e.t), byName[rows[0].Name])
			same(e.t, "other org", e.projects(other.ID), []repo.Project{})
			// The same names in another org are fine.
			must(e.db.Projects().Import(e.ctx, other.ID, rows[:10])).of(e.t)
		}},
		{"Projects/ImportNothing", func(e *env) {
			org := e.newOrg()
			if n := must(e.db.Projects().Import(e.ctx, org.ID, nil)).of(e.t); n != 0 {
				e.t.Errorf("Import(nil) = %d", n)
			}
			same(e.t, "List", e.projects(org.ID), []repo.Project{})
		}},
		{"Projects/ImportInvalidRow", func(e *env) {
			org := e.newOrg()
			for _, c := range []struct {
				edit  func(*repo.NewProject)
				field string
			}{
				{func(p *repo.NewProject) { p.Name = "  " }, "name"},
				{func(p *repo.NewProject) { p.Name = strings.Repeat("x", repo.MaxNameLen+1) }, "name"},
				{func(p *repo.NewProject) { p.Name = "nul\x00" }, "name"},
				{func(p *repo.NewProject) { p.Description = "\xff" }, "description"},
				{func(p *repo.NewProject) { p.Description = strings.Repeat("d", repo.MaxDescriptionLen+1) }, "description"},
			} {
				rows := importRows("bad", 50)
				c.edit(&rows[36])
				_, err := e.db.Projects().Import(e.ctx, org.ID, rows)
				wantRow(e, err, repo.ErrInvalid, 37)
				if f := repo.FieldOf(err); f != c.field {
					e.t.Errorf("error %q names field %q, want %q", err, f, c.field)
				}
			}
			same(e.t, "List", e.projects(org.ID), []repo.Project{})
		}},
		{"Projects/ImportRepeatedName", func(e *env) {
			org := e.newOrg()
			rows := importRows("dup", 30)
			rows[24].Name = rows[6].Name
			_, err := e.db.Projects().Import(e.ctx, org.ID, rows)
			wantRow(e, err, repo.ErrConflict, 25)
			if !strings.Contains(err.Error(), rows[6].Name) || !strings.Contains(err.Error(), "row 7") {
				e.t.Errorf("error %q does not name %q and row 7", err, rows[6].Name)
			}
			same(e.t, "List", e.projects(org.ID), []repo.Project{})
		}},
		{"Projects/ImportTakenName", func(e *env) {
			org := e.newOrg()
			existing := e.newProject(org.ID)
			rows := importRows("taken", 500)
			rows[411].Name = existing.Name
			_, err := e.db.Projects().Import(e.ctx, org.ID, rows)
			wantRow(e, err, repo.ErrConflict, 412)
			if repo.FieldOf(err) != "name" || !strings.Contains(err.Error(), existing.Name) {
				e.t.Errorf("error %q does not name the field name and %q", err, existing.Name)
			}
			same(e.t, "nothing imported", e.projects(org.ID), []repo.Project{existing})
		}},
		{"Projects/ImportUnknownOrg", func(e *env) {
			notFound(e.t, second(e.db.Projects().Import(e.ctx, repo.NewID(), importRows("orphan", 3))))
		}},
		{"Projects/ImportInTx", func(e *env) {
			org := e.newOrg()
			// A failed import leaves the transaction usable and writes nothing;
			// the rest of the transaction commits.
			first := importRows("a", 20)
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error {
				if _, err := tx.Projects().Import(e.ctx, org.ID, first); err != nil {
					return err
				}
				clash := importRows("b", 20)
				clash[19].Name = first[3].Name
				_, err := tx.Projects().Import(e.ctx, org.ID, clash)
				wantRow(e, err, repo.ErrConflict, 20)
				_, err = tx.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "after"})
				return err
			}))
			want := append(importRows("a", 20), repo.NewProject{Name: "after"})
			var names []string
			for _, p := range want {
				names = append(names, p.Name)
			}
			slices.Sort(names)
			same(e.t, "names", e.sortedNames(org), names)
			// A rolled-back transaction takes its import with it.
			boom := errors.New("boom")
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				must(tx.Projects().Import(e.ctx, org.ID, importRows("c", 5))).of(e.t)
				return boom
			})
			if !errors.Is(err, boom) {
				e.t.Fatalf("InTx = %v, want %v", err, boom)
			}
			same(e.t, "after rollback", e.sortedNames(org), names)
		}},
	}
}

func credentialCases() []testCase {
	return []testCase{
		{"APIKeys/Credential", func(e *env) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			exp := repo.Now().Add(time.Hour)
			k := must(e.db.APIKeys().Create(e.ctx, org.ID, repo.NewAPIKey{UserID: u.ID, Name: "ci", SecretHash: secret("c"), ExpiresAt: &exp})).of(e.t)
			v := must(e.db.Orgs().BumpPolicyVersion(e.ctx, org.ID)).of(e.t)
			same(e.t, "Credential", must(e.db.APIKeys().Credential(e.ctx, k.ID)).of(e.t),
				repo.Credential{Key: k, UserStatus: repo.UserActive, PolicyVersion: v})

			ok(e.t, e.db.APIKeys().Revoke(e.ctx, org.ID, k.ID))
			must(e.db.Users().Update(e.ctx, u.ID, repo.UserUpdate{Status: ptr(repo.UserSuspended)})).of(e.t)
			c := must(e.db.APIKeys().Credential(e.ctx, k.ID)).of(e.t)
			if c.Key.RevokedAt == nil || c.UserStatus != repo.UserSuspended || c.PolicyVersion != v {
				e.t.Errorf("after revoking and suspending: %+v", c)
			}
		}},
		{"APIKeys/CredentialGone", func(e *env) {
			org := e.newOrg()
			u := e.newMember(org.ID)
			k := e.newKey(org.ID, u.ID)
			notFound(e.t, second(e.db.APIKeys().Credential(e.ctx, repo.NewID())))
			// Removing the member removes their keys.
			ok(e.t, e.db.Memberships().Remove(e.ctx, org.ID, u.ID))
			notFound(e.t, second(e.db.APIKeys().Credential(e.ctx, k.ID)))
			// A deleted org's keys are not found.
			other := e.newOrg()
			w := e.newMember(other.ID)
			k2 := e.newKey(other.ID, w.ID)
			ok(e.t, e.db.Orgs().Delete(e.ctx, other.ID))
			notFound(e.t, second(e.db.APIKeys().Credential(e.ctx, k2.ID)))
		}},
	}
}
