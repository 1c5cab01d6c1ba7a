package repo

import (
	"context"
	"time"

	"github.com/google/uuid"
)

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

// Users stores users, who are global.
type Users interface {
	Create(ctx context.Context, in NewUser) (User, error)
	Get(ctx context.Context, id uuid.UUID) (User, error)
	// GetByEmail finds a user by email, ignoring case.
	GetByEmail(ctx context.Context, email string) (User, error)
	Update(ctx context.Context, id uuid.UUID, in UserUpdate) (User, error)
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

// Roles stores each org's roles.
type Roles interface {
	Create(ctx context.Context, orgID uuid.UUID, in NewRole) (Role, error)
	Get(ctx context.Context, orgID, id uuid.UUID) (Role, error)
	GetByName(ctx context.Context, orgID uuid.UUID, name string) (Role, error)
	List(ctx context.Context, orgID uuid.UUID, page PageRequest) (Page[Role], error)
	// UpdatePermissions replaces a custom role's permissions; built-in roles are
	// a conflict.
	UpdatePermissions(ctx context.Context, orgID, id uuid.UUID, permissions []string) (Role, error)
	// Delete removes a custom role; a built-in role or one still bound is a conflict.
	Delete(ctx context.Context, orgID, id uuid.UUID) error
}

// RoleBindings stores grants of roles to members.
type RoleBindings interface {
	// Create binds a role to a member; an unknown member, role or project of
	// the org is ErrNotFound, the same grant twice ErrConflict.
	Create(ctx context.Context, orgID uuid.UUID, in NewRoleBinding) (RoleBinding, error)
	Get(ctx context.Context, orgID, id uuid.UUID) (RoleBinding, error)
	List(ctx context.Context, orgID uuid.UUID, page PageRequest) (Page[RoleBinding], error)
	Delete(ctx context.Context, orgID, id uuid.UUID) error
	// CountOrgWide counts the org-wide bindings of a role (e.g. owners).
	CountOrgWide(ctx context.Context, orgID, roleID uuid.UUID) (int64, error)
	// Grants returns every binding of the user in the org with its role's
	// permissions, in one query.
	Grants(ctx context.Context, orgID, userID uuid.UUID) ([]Grant, error)
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

// AuditEvents stores each org's append-only chain of audit events.
//
// Recording an event and sealing it are two steps. Append records the event
// in the transaction of the change it records, so that it commits if and
// only if the change does, and takes no lock another writer of the org
// needs. SealPending, called by a sealer in the background (see the audit
// package), seals what committed: the event gets its place in the chain
// (the next sequence number, the previous event's hash, its own hash) and
// the org's head moves over it. How the work splits is the adapter's:
// PostgreSQL queues the event and does both after the commit; SQLite's
// single writer links the event into the chain in its transaction and only
// moves the head after. Either way every committed event is sealed exactly
// once, in one place of its org's chain; List, Head and exports show sealed
// events only, and Backlog counts the others.
type AuditEvents interface {
	// Append records ev in the caller's transaction (run it inside the
	// transaction of the change it records). It fills in an empty ID,
	// OccurredAt and Metadata and sets Format to AuditFormat. When the
	// adapter links the event into its chain in the transaction, it calls
	// seal with Seq and PrevHash filled in and returns the event with them
	// and its Hash; otherwise it returns it with Seq 0, and SealPending
	// calls the Sealer given to it. Either way the event is not sealed
	// until SealPending moved the head over it.
	Append(ctx context.Context, ev AuditEvent, seal Sealer) (AuditEvent, error)
	// SealPending seals, in one transaction, a bounded batch of the events
	// committed and not yet sealed: the oldest ones of orgs that no other
	// process is sealing at the same moment. It returns what it sealed; with
	// nothing pending (or everything pending being sealed elsewhere) it
	// seals nothing.
	SealPending(ctx context.Context, seal Sealer) (SealReport, error)
	// Backlog reports the org's committed events not yet sealed (not
	// covered by its head), or every org's when orgID is uuid.Nil.
	Backlog(ctx context.Context, orgID uuid.UUID) (AuditBacklog, error)
	// Head returns the org's last sealed sequence number and hash (0 and 32
	// zero bytes for an empty chain).
	Head(ctx context.Context, orgID uuid.UUID) (seq int64, hash []byte, err error)
	// List returns a page of the org's sealed events, each with its
	// PrevHash.
	List(ctx context.Context, orgID uuid.UUID, filter AuditFilter, page PageRequest) (Page[AuditEvent], error)
}

// IdempotencyKeys stores the outcomes of mutations made under a client's
// idempotency key (the Idempotency-Key header), so that a retry of a
// mutation whose answer was lost replays its outcome instead of applying it
// again. Claim and Complete run in the transaction of the mutation they
// guard: the key record, the change and its audit event commit together or
// not at all.
type IdempotencyKeys interface {
	// Claim reserves rec's key for the calling transaction, storing rec
	// with an empty Result, unless a record created at or after since is
	// stored under the key: then it returns that record and claimed false,
	// and the caller replays its Result (or refuses a request whose
	// fingerprint differs). An older record is taken over. On PostgreSQL a
	// key another transaction holds right now is an ErrConflict wrapping
	// ErrKeyInFlight; on SQLite the single writer serializes claims.
	// Outside a transaction Claim is ErrInternal.
	Claim(ctx context.Context, rec IdempotencyRecord, since time.Time) (stored IdempotencyRecord, claimed bool, err error)
	// Complete stores the outcome of the mutation under the key the
	// transaction claimed; a key it did not claim is ErrNotFound. Outside a
	// transaction Complete is ErrInternal.
	Complete(ctx context.Context, key IdempotencyKey, result []byte) error
	// Prune deletes up to limit records created before before, and returns
	// how many it deleted; call it again while it returns limit. It never
	// waits for a transaction that claims a key, nor holds one up for long.
	Prune(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Store hands out the repositories. A Store from a database handle runs each
// call on its own; the Store InTx passes to fn runs every call in one transaction.
type Store interface {
	Orgs() Orgs
	Users() Users
	Memberships() Memberships
	Roles() Roles
	RoleBindings() RoleBindings
	Projects() Projects
	Environments() Environments
	APIKeys() APIKeys
	AuditEvents() AuditEvents
	IdempotencyKeys() IdempotencyKeys

	// InTx runs fn in one transaction, with tx bound to it: the transaction
	// commits when fn returns nil and rolls back when fn returns an error or
	// panics (the panic goes on). A serialization failure, deadlock or busy
	// database makes InTx run fn again, a bounded number of times with
	// jittered backoff, so fn must not have effects outside tx. Called on a
	// Store that is already in a transaction, InTx runs fn in that transaction.
	InTx(ctx context.Context, fn func(tx Store) error) error
}

// Dialect names a database engine.
type Dialect string

// The supported dialects.
const (
	PostgreSQL Dialect = "postgres"
	SQLite     Dialect = "sqlite"
)

// DB is an open database: a Store plus the handle's life cycle.
type DB interface {
	Store
	Dialect() Dialect
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases every connection.
	Close() error
}
