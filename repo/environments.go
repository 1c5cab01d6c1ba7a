package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/environments.go -destination ../mocks/repo_environments.go -package mocks"

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Environment is a named deployment target of a project: production,
// staging, ...
type Environment struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	ProjectID   uuid.UUID
	Name        string // unique in the project
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NewEnvironment is the input of Environments.Create.
type NewEnvironment struct {
	Name        string
	Description string
}

// EnvironmentUpdate is the input of Environments.Update; nil fields are left
// unchanged.
type EnvironmentUpdate struct {
	Name        *string
	Description *string
}

// ValidateNewEnvironment checks the input of Environments.Create: the
// rules of a project's.
func ValidateNewEnvironment(in NewEnvironment) error {
	return ValidateNewProject(NewProject(in))
}

// ValidateEnvironmentUpdate checks the input of Environments.Update.
func ValidateEnvironmentUpdate(in EnvironmentUpdate) error {
	return ValidateProjectUpdate(ProjectUpdate(in))
}

// Environments stores the environments of each org's projects. A project
// of another org, or none, is ErrNotFound; a name taken in the project is
// ErrConflict naming "name". Deleting the project deletes its environments.
type Environments interface {
	Create(ctx context.Context, orgID, projectID uuid.UUID, in NewEnvironment) (Environment, error)
	Get(ctx context.Context, orgID, projectID, id uuid.UUID) (Environment, error)
	List(ctx context.Context, orgID, projectID uuid.UUID, page PageRequest) (Page[Environment], error)
	Update(ctx context.Context, orgID, projectID, id uuid.UUID, in EnvironmentUpdate) (Environment, error)
	Delete(ctx context.Context, orgID, projectID, id uuid.UUID) error
}
