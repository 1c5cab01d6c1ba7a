package pgrepo

import (
	"context"
	"errors"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

// Import creates the projects with one COPY (see repo.Projects.Import). The
// COPY runs under a savepoint, so that when it fails the transaction can
// still ask which row's name was taken, and a caller's transaction can go on.
func (r projects) Import(ctx context.Context, orgID uuid.UUID, rows []repo.NewProject) (int64, error) {
	if err := repo.ValidateImport(rows); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	now := repo.Now()
	params := make([]pgdb.ImportProjectsParams, len(rows))
	for i, in := range rows {
		params[i] = pgdb.ImportProjectsParams{ID: repo.NewID(), OrgID: orgID, Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now}
	}
	var n int64
	err := r.s.inTx(ctx, func(tx *Store) error {
		err := tx.tx.savepoint(ctx, func() error {
			var err error
			n, err = tx.w.ImportProjects(ctx, params)
			return err
		})
		if err == nil {
			return nil
		}
		if err = mapErr(err, "project"); !errors.Is(err, repo.ErrConflict) {
			return err
		}
		return projects{tx}.taken(ctx, orgID, rows, err)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// taken explains a conflict of an import: the first row whose name a project
// of the org has, or conflict itself when none has (a race).
func (r projects) taken(ctx context.Context, orgID uuid.UUID, rows []repo.NewProject, conflict error) error {
	names := make([]string, len(rows))
	for i, in := range rows {
		names[i] = in.Name
	}
	t, err := r.s.r.FirstTakenProjectName(ctx, pgdb.FirstTakenProjectNameParams{Names: names, OrgID: orgID})
	switch {
	case errNoRows(err):
		return conflict
	case err != nil:
		return mapErr(err, "project")
	}
	return repo.NameTaken(t.N, t.Name)
}
