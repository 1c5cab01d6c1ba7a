package service

import (
	"context"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// CheckAccess answers whether a member may use a permission, on the org or
// one project, with the binding that allows it (members.read).
func (s *Service) CheckAccess(ctx context.Context, p Principal, slug string, userID uuid.UUID, perm string, projectID *uuid.UUID) (rbac.Decision, error) {
	if !rbac.Known(perm) {
		return rbac.Decision{}, repo.Invalid("permission", "unknown permission %q", perm)
	}
	org, err := s.read(ctx, p, slug, action{name: "access.check", perm: rbac.MembersRead})
	if err != nil {
		return rbac.Decision{}, err
	}
	return s.authz.Check(ctx, org.ID, userID, perm, projectID)
}

// ListAuditEvents lists the org's audit events, filtered (audit.read).
func (s *Service) ListAuditEvents(ctx context.Context, p Principal, slug string, f repo.AuditFilter, page repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
	org, err := s.read(ctx, p, slug, action{name: "audit.list", perm: rbac.AuditRead})
	if err != nil {
		return repo.Page[repo.AuditEvent]{}, err
	}
	s.sealPending(ctx)
	return s.store.AuditEvents().List(ctx, org.ID, f, page)
}

// sealPending seals, before a read of the trail, the events committed and
// not yet sealed (one round, for at most a second), so that a caller reads
// its own writes rather than wait for the background sealer's next round.
// Should it fail, the events wait for that round, and a verify report
// counts them. Verify does not call it: its report of the events waiting is
// what shows a sealer that stopped.
func (s *Service) sealPending(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, _ = s.store.AuditEvents().SealPending(ctx, audit.Seal)
}

// VerifyAudit recomputes the org's audit chain (audit.read).
func (s *Service) VerifyAudit(ctx context.Context, p Principal, slug string) (audit.Report, error) {
	org, err := s.read(ctx, p, slug, action{name: "audit.verify", perm: rbac.AuditRead})
	if err != nil {
		return audit.Report{}, err
	}
	return audit.Verify(ctx, s.store.AuditEvents(), org.ID, audit.VerifyOptions{})
}

// ExportFormat names an audit export format.
type ExportFormat string

// Export formats.
const (
	JSONL ExportFormat = "jsonl"
	CSV   ExportFormat = "csv"
)

// ExportAudit streams the org's audit events to w (audit.read). The
// authorization happens before anything is written, so an error before the
// first byte can still become an HTTP error status.
func (s *Service) ExportAudit(ctx context.Context, p Principal, slug string, format ExportFormat, f repo.AuditFilter, w io.Writer) (int64, error) {
	if format != JSONL && format != CSV {
		return 0, repo.Invalid("format", "must be jsonl or csv")
	}
	org, err := s.read(ctx, p, slug, action{name: "audit.export", perm: rbac.AuditRead})
	if err != nil {
		return 0, err
	}
	s.sealPending(ctx)
	return ExportOrg(ctx, s.store, org.ID, format, audit.ExportOptions{Filter: f}, w)
}

// ExportOrg streams an org's audit events without authorization: for the
// command line, which has the database itself.
func ExportOrg(ctx context.Context, store repo.Store, orgID uuid.UUID, format ExportFormat, opts audit.ExportOptions, w io.Writer) (int64, error) {
	if format == CSV {
		return audit.ExportCSV(ctx, w, store.AuditEvents(), orgID, opts)
	}
	return audit.ExportJSONL(ctx, w, store.AuditEvents(), orgID, opts)
}
