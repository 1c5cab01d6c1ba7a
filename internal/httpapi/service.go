package httpapi

import (
	"context"
	"io"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// Service is what the API needs of the use cases: exactly the methods of
// *service.Service it calls. The handlers are unit-tested against a mock of
// it (mocks.MockService).
type Service interface {
	Authenticate(ctx context.Context, key string, req service.Request) (service.Principal, error)

	GetOrg(ctx context.Context, p service.Principal, slug string) (repo.Org, error)
	UpdateOrg(ctx context.Context, p service.Principal, slug string, in repo.OrgUpdate) (repo.Org, error)

	ListMembers(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.Member], error)
	AddMember(ctx context.Context, p service.Principal, slug string, in service.NewMember) (repo.Member, error)
	RemoveMember(ctx context.Context, p service.Principal, slug string, userID uuid.UUID) error

	ListRoles(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.Role], error)
	CreateRole(ctx context.Context, p service.Principal, slug, name string, perms []string) (repo.Role, error)
	UpdateRole(ctx context.Context, p service.Principal, slug, name string, perms []string) (repo.Role, error)
	DeleteRole(ctx context.Context, p service.Principal, slug, name string) error

	ListRoleBindings(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.RoleBinding], error)
	CreateRoleBinding(ctx context.Context, p service.Principal, slug string, in service.NewBinding) (repo.RoleBinding, error)
	DeleteRoleBinding(ctx context.Context, p service.Principal, slug string, id uuid.UUID) error

	ListProjects(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.Project], error)
	GetProject(ctx context.Context, p service.Principal, slug string, id uuid.UUID) (repo.Project, error)
	CreateProject(ctx context.Context, p service.Principal, slug string, in repo.NewProject) (repo.Project, error)
	UpdateProject(ctx context.Context, p service.Principal, slug string, id uuid.UUID, in repo.ProjectUpdate) (repo.Project, error)
	DeleteProject(ctx context.Context, p service.Principal, slug string, id uuid.UUID) error

	ListEnvironments(ctx context.Context, p service.Principal, slug string, project uuid.UUID, page repo.PageRequest) (repo.Page[repo.Environment], error)
	GetEnvironment(ctx context.Context, p service.Principal, slug string, project, id uuid.UUID) (repo.Environment, error)
	CreateEnvironment(ctx context.Context, p service.Principal, slug string, project uuid.UUID, in repo.NewEnvironment) (repo.Environment, error)
	UpdateEnvironment(ctx context.Context, p service.Principal, slug string, project, id uuid.UUID, in repo.EnvironmentUpdate) (repo.Environment, error)
	DeleteEnvironment(ctx context.Context, p service.Principal, slug string, project, id uuid.UUID) error

	ListAPIKeys(ctx context.Context, p service.Principal, slug string, page repo.PageRequest) (repo.Page[repo.APIKey], error)
	CreateAPIKey(ctx context.Context, p service.Principal, slug string, in service.NewAPIKey) (service.NewKey, error)
	RevokeAPIKey(ctx context.Context, p service.Principal, slug string, id uuid.UUID) error

	CheckAccess(ctx context.Context, p service.Principal, slug string, userID uuid.UUID, perm string, projectID *uuid.UUID) (rbac.Decision, error)

	ListAuditEvents(ctx context.Context, p service.Principal, slug string, f repo.AuditFilter, page repo.PageRequest) (repo.Page[repo.AuditEvent], error)
	VerifyAudit(ctx context.Context, p service.Principal, slug string) (audit.Report, error)
	ExportAudit(ctx context.Context, p service.Principal, slug string, format service.ExportFormat, f repo.AuditFilter, w io.Writer) (int64, error)
}
