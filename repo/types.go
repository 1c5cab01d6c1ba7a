package repo

import (
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

// UserStatus says whether a user may act.
type UserStatus string

// User statuses.
const (
	UserActive    UserStatus = "active"
	UserSuspended UserStatus = "suspended"
)

// User is a person. Users are global; they belong to orgs through memberships.
type User struct {
	ID        uuid.UUID
	Email     string // unique, compared case-insensitively
	Name      string
	Status    UserStatus
	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewUser is the input of Users.Create.
type NewUser struct {
	Email string
	Name  string
}

// UserUpdate is the input of Users.Update; nil fields are left unchanged.
type UserUpdate struct {
	Name   *string
	Status *UserStatus
}

// Member is a user seen through their membership of one org.
type Member struct {
	OrgID    uuid.UUID
	User     User
	JoinedAt time.Time
}

// Role is a named set of permissions in one org. Built-in roles exist in every
// org and cannot be changed or deleted.
type Role struct {
	ID          uuid.UUID
	OrgID       uuid.UUID
	Name        string
	Builtin     bool
	Permissions []string // e.g. "projects.update", "projects.*", "*"
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// NewRole is the input of Roles.Create.
type NewRole struct {
	Name        string
	Builtin     bool
	Permissions []string
}

// RoleBinding grants a role to a member of the org, on the whole org
// (ProjectID nil) or on one project.
type RoleBinding struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	UserID    uuid.UUID
	RoleID    uuid.UUID
	ProjectID *uuid.UUID
	CreatedAt time.Time
}

// NewRoleBinding is the input of RoleBindings.Create.
type NewRoleBinding struct {
	UserID    uuid.UUID
	RoleID    uuid.UUID
	ProjectID *uuid.UUID
}

// Grant is one binding of a user with its role's permissions: what an
// authorization check needs, read in one query.
type Grant struct {
	BindingID   uuid.UUID
	ProjectID   *uuid.UUID
	RoleID      uuid.UUID
	RoleName    string
	Permissions []string
	UserStatus  UserStatus
}

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

// ActorType says who did something.
type ActorType string

// Actor types.
const (
	ActorUser   ActorType = "user"
	ActorAPIKey ActorType = "api_key"
	ActorSystem ActorType = "system"
)

// Outcome says whether an audited attempt happened or was refused.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeDenied  Outcome = "denied"
)

// AuditEvent is one event of an org's tamper-evident audit chain. An event
// is recorded (AuditEvents.Append) in the transaction of the change it
// records, and sealed, given its place in the chain (Seq, PrevHash, Hash),
// then or later: see AuditEvents.
type AuditEvent struct {
	OrgID      uuid.UUID
	Seq        int64 // 1, 2, 3, ... per org, without gaps; 0 until sealed
	ID         uuid.UUID
	OccurredAt time.Time
	ActorType  ActorType
	ActorID    string
	// APIKeyID is the API key the actor acted through; uuid.Nil if none.
	// Events of format 1 have none.
	APIKeyID   uuid.UUID
	Action     string // e.g. "project.create"
	TargetType string
	TargetID   string
	Outcome    Outcome
	Metadata   string // a JSON object; "{}" when empty
	RemoteAddr string
	RequestID  string
	// Format is the canonical encoding the hash covers (see the audit
	// package's FORMAT.md): 1 for events sealed before migration 000005,
	// AuditFormat since.
	Format   int
	PrevHash []byte // Hash of event Seq-1; 32 zero bytes for Seq 1; nil until sealed
	Hash     []byte // SHA-256 over PrevHash and the event's canonical encoding; nil until sealed
}

// AuditFormat is the format of the events Append records.
const AuditFormat = 2

// AuditBacklog describes events committed but not yet sealed.
type AuditBacklog struct {
	Pending    int64     // how many
	OldestID   uuid.UUID // the oldest one's ID (uuid.Nil when none is pending)
	OldestOrg  uuid.UUID // and its org
	OldestTime time.Time // and when it occurred
}

// SealReport says what one AuditEvents.SealPending call did.
type SealReport struct {
	// Sealed lists the events sealed, by org, ID and place in the chain.
	Sealed []SealedEvent
	// SealedAt is when the seal committed.
	SealedAt time.Time
	// More reports that the call stopped at its bound with events of some
	// org it sealed still pending: call it again at once.
	More bool
}

// SealedEvent is one event a SealPending call sealed.
type SealedEvent struct {
	OrgID      uuid.UUID
	ID         uuid.UUID
	Seq        int64
	OccurredAt time.Time
}

// AuditFilter narrows AuditEvents.List; zero fields do not filter.
type AuditFilter struct {
	ActorID    string
	Action     string
	TargetType string
	TargetID   string
	Outcome    Outcome
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	Descending bool      // newest first
}

// Sealer completes an event about to be sealed: it is called with Seq,
// PrevHash and Format filled in and returns the event's hash.
type Sealer func(ev *AuditEvent) []byte
