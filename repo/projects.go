package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/projects.go -destination ../mocks/repo_projects.go -package mocks"

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Project is the org's business resource.
type Project struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	Name        string // unique in the org
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NewProject is the input of Projects.Create.
type NewProject struct {
	Name        string
	Description string
}

// ProjectUpdate is the input of Projects.Update; nil fields are left unchanged.
type ProjectUpdate struct {
	Name        *string
	Description *string
}

// ValidateNewProject checks the input of Projects.Create.
func ValidateNewProject(in NewProject) error {
	return firstErr(
		ValidateText("name", in.Name, true, MaxNameLen),
		ValidateText("description", in.Description, false, MaxDescriptionLen),
	)
}

// ValidateProjectUpdate checks the input of Projects.Update.
func ValidateProjectUpdate(in ProjectUpdate) error {
	if in.Name != nil {
		if err := ValidateText("name", *in.Name, true, MaxNameLen); err != nil {
			return err
		}
	}
	if in.Description != nil {
		return ValidateText("description", *in.Description, false, MaxDescriptionLen)
	}
	return nil
}

// Projects stores each org's projects.
type Projects interface {
	Create(ctx context.Context, orgID uuid.UUID, in NewProject) (Project, error)
	Get(ctx context.Context, orgID, id uuid.UUID) (Project, error)
	List(ctx context.Context, orgID uuid.UUID, page PageRequest) (Page[Project], error)
	Update(ctx context.Context, orgID, id uuid.UUID, in ProjectUpdate) (Project, error)
	Delete(ctx context.Context, orgID, id uuid.UUID) error
	// Import creates a project in the org for each of rows, all or none, and
	// returns how many it created. It checks every row first
	// (ValidateImport), then inserts them in bulk: one COPY on PostgreSQL,
	// one INSERT ... SELECT over the rows as a JSON array on SQLite. A bad
	// row, a name that repeats in rows or one already taken in the org is a
	// *RowError naming the row (from 1) and wrapping ErrInvalid or
	// ErrConflict; an unknown org is ErrNotFound. Called on a transaction's
	// Store it joins that transaction (the service records the import's
	// audit event there), which stays usable after a failed Import; otherwise
	// it runs in a transaction of its own.
	Import(ctx context.Context, orgID uuid.UUID, rows []NewProject) (int64, error)
}
