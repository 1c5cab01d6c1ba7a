package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/orgs.go -destination ../mocks/repo_orgs.go -package mocks"

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Org is an organization: a tenant. Every tenant-owned row carries its ID.
type Org struct {
	ID     uuid.UUID
	Slug   string // unique, [a-z0-9-], used in URLs
	Name   string
	Region string // the org's home region, e.g. "eu-west"
	// PolicyVersion is bumped in the same transaction as every change to the
	// org's roles, bindings or memberships; authorization caches key on it.
	PolicyVersion int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NewOrg is the input of Orgs.Create.
type NewOrg struct {
	Slug   string
	Name   string
	Region string // "" means DefaultRegion
}

// DefaultRegion is the home region of an org created without one.
const DefaultRegion = "local"

// OrgUpdate is the input of Orgs.Update; nil fields are left unchanged.
type OrgUpdate struct {
	Name   *string
	Region *string
}

// ValidateSlug checks an org slug: 1 to 63 of [a-z0-9-], not starting or ending with '-'.
func ValidateSlug(slug string) error {
	if slug == "" {
		return Invalid("slug", "must not be empty")
	}
	if len(slug) > MaxSlugLen {
		return Invalid("slug", "must be at most %d characters", MaxSlugLen)
	}
	if slug[0] == '-' || slug[len(slug)-1] == '-' {
		return Invalid("slug", "must not start or end with '-'")
	}
	for _, c := range []byte(slug) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return Invalid("slug", "may hold only lower-case letters, digits and '-'")
		}
	}
	return nil
}

// ValidateNewOrg checks the input of Orgs.Create and fills in the default region.
func ValidateNewOrg(in *NewOrg) error {
	if in.Region == "" {
		in.Region = DefaultRegion
	}
	return firstErr(
		ValidateSlug(in.Slug),
		ValidateText("name", in.Name, true, MaxNameLen),
		ValidateText("region", in.Region, true, MaxRegionLen),
	)
}

// ValidateOrgUpdate checks the input of Orgs.Update.
func ValidateOrgUpdate(in OrgUpdate) error {
	var errs []error
	if in.Name != nil {
		errs = append(errs, ValidateText("name", *in.Name, true, MaxNameLen))
	}
	if in.Region != nil {
		errs = append(errs, ValidateText("region", *in.Region, true, MaxRegionLen))
	}
	return firstErr(errs...)
}

// Orgs stores organizations. Deleted orgs are invisible to every method.
type Orgs interface {
	Create(ctx context.Context, in NewOrg) (Org, error)
	Get(ctx context.Context, id uuid.UUID) (Org, error)
	GetBySlug(ctx context.Context, slug string) (Org, error)
	List(ctx context.Context, page PageRequest) (Page[Org], error)
	ListForUser(ctx context.Context, userID uuid.UUID, page PageRequest) (Page[Org], error)
	Update(ctx context.Context, id uuid.UUID, in OrgUpdate) (Org, error)
	Delete(ctx context.Context, id uuid.UUID) error
	// BumpPolicyVersion increments the org's policy version and returns the new one.
	BumpPolicyVersion(ctx context.Context, id uuid.UUID) (int64, error)
	// PolicyVersion returns the org's current policy version.
	PolicyVersion(ctx context.Context, id uuid.UUID) (int64, error)
}
