package sqliterepo

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// Import creates the projects with one prepared INSERT ... SELECT over
// json_each (see repo.Projects.Import): the rows travel as one JSON array,
// so the whole import is one statement, which SQLite applies all or none
// (a failed statement is undone, and the transaction can go on).
func (r projects) Import(ctx context.Context, orgID uuid.UUID, rows []repo.NewProject) (int64, error) {
	if err := repo.ValidateImport(rows); err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, nil
	}
	buf := make([]byte, 0, len(rows)*(64+len(rows[0].Name)+len(rows[0].Description)))
	buf = append(buf, '[')
	for i, in := range rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `["`...)
		buf = append(buf, repo.NewID().String()...)
		buf = append(buf, `",`...)
		buf = appendJSONString(buf, in.Name)
		buf = append(buf, ',')
		buf = appendJSONString(buf, in.Description)
		buf = append(buf, ']')
	}
	buf = append(buf, ']')
	err := r.s.InTx(ctx, func(tx repo.Store) error {
		q := tx.(*store).write
		err := mapErr(q.ImportProjects(ctx, sqlitedb.ImportProjectsParams{OrgID: orgID, CreatedAt: formatTime(repo.Now()), Rows: string(buf)}), "project")
		if !errors.Is(err, repo.ErrConflict) {
			return err
		}
		return taken(ctx, q, orgID, rows, err)
	})
	if err != nil {
		return 0, err
	}
	return int64(len(rows)), nil
}

// taken explains a conflict of an import: the first row whose name a project
// of the org has, or conflict itself when none has.
func taken(ctx context.Context, q *sqlitedb.Queries, orgID uuid.UUID, rows []repo.NewProject, conflict error) error {
	names := make([]string, len(rows))
	for i, in := range rows {
		names[i] = in.Name
	}
	list, err := json.Marshal(names)
	if err != nil {
		return conflict
	}
	t, err := q.FirstTakenProjectName(ctx, sqlitedb.FirstTakenProjectNameParams{Names: string(list), OrgID: orgID})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return conflict
	case err != nil:
		return mapErr(err, "project")
	}
	return repo.NameTaken(t.N, t.Name)
}

// appendJSONString appends s, valid UTF-8 (the validators see to it), as a
// JSON string: quotes, backslashes and control characters escaped, the rest
// as it is.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
