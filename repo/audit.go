package repo

//go:generate sh -c "cd ../tools && go tool mockgen -source ../repo/audit.go -destination ../mocks/repo_audit.go -package mocks"

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"
)

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

// HashLen is the length in bytes of an audit event's hash and previous
// hash: a SHA-256 digest, as both dialects store it.
const HashLen = sha256.Size

// Seal lets seal compute ev's hash (Seq, PrevHash and Format filled in)
// and checks that it is HashLen bytes long, as the database requires.
func Seal(ev *AuditEvent, seal Sealer) error {
	ev.Hash = seal(ev)
	if len(ev.Hash) != HashLen {
		return Invalid("hash", "must be %d bytes (SHA-256)", HashLen)
	}
	return nil
}

// PrepareAuditEvent checks an event about to be appended and fills in its
// defaults: Metadata "{}" when empty, a new ID when nil, the current time
// when OccurredAt is zero (else OccurredAt as stored: UTC, microseconds),
// and Format AuditFormat. Whatever seal fields it had are cleared.
func PrepareAuditEvent(ev *AuditEvent) error {
	ev.Format, ev.Seq, ev.PrevHash, ev.Hash = AuditFormat, 0, nil, nil
	if ev.Metadata == "" {
		ev.Metadata = "{}"
	}
	if ev.ID == uuid.Nil {
		ev.ID = NewID()
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = Now()
	} else {
		ev.OccurredAt = Timestamp(ev.OccurredAt)
	}
	var errs []error
	errs = append(errs,
		ValidateText("action", ev.Action, true, 100),
		ValidateText("actor_id", ev.ActorID, false, 200),
		ValidateText("target_type", ev.TargetType, false, 100),
		ValidateText("target_id", ev.TargetID, false, 200),
		ValidateText("remote_addr", ev.RemoteAddr, false, 100),
		ValidateText("request_id", ev.RequestID, false, 100),
		ValidateText("metadata", ev.Metadata, false, MaxMetadataLen),
		ValidateTime("occurred_at", ev.OccurredAt),
	)
	switch ev.ActorType {
	case ActorUser, ActorAPIKey, ActorSystem:
	default:
		errs = append(errs, Invalid("actor_type", "must be user, api_key or system"))
	}
	switch ev.Outcome {
	case OutcomeSuccess, OutcomeDenied:
	default:
		errs = append(errs, Invalid("outcome", "must be success or denied"))
	}
	if !json.Valid([]byte(ev.Metadata)) || strings.TrimSpace(ev.Metadata)[0] != '{' {
		errs = append(errs, Invalid("metadata", "must be a JSON object"))
	}
	return firstErr(errs...)
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
