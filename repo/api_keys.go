package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/api_keys.go -destination ../mocks/repo_api_keys.go -package mocks"

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// APIKey is a credential of one user in one org. Only the SHA-256 of its secret
// is stored; the secret itself is shown once, when the key is made.
type APIKey struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	UserID     uuid.UUID
	Name       string
	SecretHash []byte // SHA-256 of the secret, 32 bytes
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
}

// Usable reports whether the key is neither revoked nor expired at now.
func (k APIKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Credential is an API key as authentication sees it: the key, the status of
// the user it acts for, and the policy version of its org, all read at one
// moment. A key exists only while its user is a member of its org (removing
// the member deletes their keys), so a Credential implies the membership.
type Credential struct {
	Key        APIKey
	UserStatus UserStatus
	// PolicyVersion is the org's policy version when the key was read. The
	// service bumps the version in the transaction of every change that can
	// make a key unusable (revoking it, removing or suspending its user), so
	// a cached Credential is current as long as the org's version has not
	// risen past this one.
	PolicyVersion int64
}

// NewAPIKey is the input of APIKeys.Create.
type NewAPIKey struct {
	UserID     uuid.UUID
	Name       string
	SecretHash []byte
	ExpiresAt  *time.Time
}

// ValidateNewAPIKey checks the input of APIKeys.Create.
func ValidateNewAPIKey(in NewAPIKey) error {
	if len(in.SecretHash) != 32 {
		return Invalid("secret_hash", "must be 32 bytes (SHA-256)")
	}
	if in.ExpiresAt != nil {
		if err := ValidateTime("expires_at", *in.ExpiresAt); err != nil {
			return err
		}
	}
	return ValidateText("name", in.Name, true, MaxNameLen)
}

// APIKeys stores API keys.
type APIKeys interface {
	Create(ctx context.Context, orgID uuid.UUID, in NewAPIKey) (APIKey, error)
	// Lookup finds a key by ID alone, for authentication, which learns the
	// org from the key. Everything else is scoped by org.
	Lookup(ctx context.Context, id uuid.UUID) (APIKey, error)
	// Credential reads what authenticating with a key needs, in one query
	// (one snapshot): the key, its user's status and its org's policy
	// version. An unknown key, or a key of a deleted org, is ErrNotFound.
	Credential(ctx context.Context, id uuid.UUID) (Credential, error)
	List(ctx context.Context, orgID uuid.UUID, page PageRequest) (Page[APIKey], error)
	// Revoke marks a key revoked; an unknown or already revoked key is ErrNotFound.
	Revoke(ctx context.Context, orgID, id uuid.UUID) error
}
