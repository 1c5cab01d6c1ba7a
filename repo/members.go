package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/members.go -destination ../mocks/repo_members.go -package mocks"

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Member is a user seen through their membership of one org.
type Member struct {
	OrgID    uuid.UUID
	User     User
	JoinedAt time.Time
}

// Memberships stores which users belong to which orgs.
type Memberships interface {
	Add(ctx context.Context, orgID, userID uuid.UUID) (Member, error)
	Get(ctx context.Context, orgID, userID uuid.UUID) (Member, error)
	List(ctx context.Context, orgID uuid.UUID, page PageRequest) (Page[Member], error)
	// Remove deletes the membership and, with it, the member's role bindings
	// and API keys in the org.
	Remove(ctx context.Context, orgID, userID uuid.UUID) error
}
