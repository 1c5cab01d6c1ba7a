package httpapi

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// The JSON shapes of the API's resources: snake_case, IDs as UUID strings,
// times in RFC 3339 UTC. Secrets and their hashes have no field here.

type listJSON[R any] struct {
	Items      []R    `json:"items"`
	NextCursor string "json:\"next_cursor\" doc:\"Pass as `cursor` for the next page; empty on the last page.\""
}

func toList[T, R any](page repo.Page[T], conv func(T) R) listJSON[R] {
	items := make([]R, len(page.Items))
	for i, v := range page.Items {
		items[i] = conv(v)
	}
	return listJSON[R]{Items: items, NextCursor: page.Next}
}

type orgJSON struct {
	ID        uuid.UUID `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func toOrg(o repo.Org) orgJSON {
	return orgJSON{ID: o.ID, Slug: o.Slug, Name: o.Name, Region: o.Region, CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC()}
}

type memberJSON struct {
	UserID   uuid.UUID `json:"user_id"`
	Email    string    `json:"email" schema:"format=email"`
	Name     string    `json:"name"`
	Status   string    `json:"status" schema:"enum=active suspended"`
	JoinedAt time.Time `json:"joined_at"`
}

func toMember(m repo.Member) memberJSON {
	return memberJSON{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Status: string(m.User.Status), JoinedAt: m.JoinedAt.UTC()}
}

type roleJSON struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Builtin     bool      `json:"builtin"`
	Permissions []string  "json:\"permissions\" doc:\"Permissions like `projects.update`, or wildcards `projects.*` and `*`.\""
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toRole(r repo.Role) roleJSON {
	perms := r.Permissions
	if perms == nil {
		perms = []string{}
	}
	return roleJSON{ID: r.ID, Name: r.Name, Builtin: r.Builtin, Permissions: perms, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

type roleBindingJSON struct {
	ID        uuid.UUID  `json:"id"`
	UserID    uuid.UUID  `json:"user_id"`
	RoleID    uuid.UUID  `json:"role_id"`
	ProjectID *uuid.UUID `json:"project_id" doc:"null: org-wide"`
	CreatedAt time.Time  `json:"created_at"`
}

func toRoleBinding(b repo.RoleBinding) roleBindingJSON {
	return roleBindingJSON{ID: b.ID, UserID: b.UserID, RoleID: b.RoleID, ProjectID: b.ProjectID, CreatedAt: b.CreatedAt.UTC()}
}

type apiKeyJSON struct {
	ID        uuid.UUID  `json:"id"`
	UserID    uuid.UUID  `json:"user_id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func toAPIKey(k repo.APIKey) apiKeyJSON {
	return apiKeyJSON{ID: k.ID, UserID: k.UserID, Name: k.Name, CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utcPtr(k.ExpiresAt), RevokedAt: utcPtr(k.RevokedAt)}
}

// newAPIKeyJSON is a key just made: the one answer that carries the secret.
type newAPIKeyJSON struct {
	apiKeyJSON
	Key string "json:\"key\" doc:\"The whole API key, `strata_<id>_<secret>`: shown this once, never again.\""
}

func toNewAPIKey(k service.NewKey) newAPIKeyJSON {
	return newAPIKeyJSON{apiKeyJSON: toAPIKey(k.APIKey), Key: k.Secret}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type decisionJSON struct {
	Allowed   bool   `json:"allowed"`
	Reason    string `json:"reason"`
	Role      string `json:"role,omitempty" doc:"The role that allows it (allowed only)."`
	BindingID string `json:"binding_id,omitempty" schema:"format=uuid" doc:"The binding that allows it (allowed only)."`
}

func toDecision(d rbac.Decision) decisionJSON {
	out := decisionJSON{Allowed: d.Allowed, Reason: d.Reason, Role: d.RoleName}
	if d.BindingID != uuid.Nil {
		out.BindingID = d.BindingID.String()
	}
	return out
}

// auditEventJSON has the fields of an export line (enterprise/audit/FORMAT.md),
// but metadata is the JSON object itself rather than its text.
type auditEventJSON struct {
	Seq        int64           `json:"seq"`
	ID         uuid.UUID       `json:"id"`
	OccurredAt time.Time       `json:"occurred_at"`
	ActorType  string          `json:"actor_type" schema:"enum=user api_key system"`
	ActorID    string          `json:"actor_id"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Outcome    string          `json:"outcome" schema:"enum=success denied"`
	Metadata   json.RawMessage `json:"metadata"`
	RemoteAddr string          `json:"remote_addr"`
	RequestID  string          `json:"request_id"`
	APIKeyID   string          `json:"api_key_id" doc:"The API key the actor acted through, a UUID; empty when none (and in format 1 events)."`
	Format     int             `json:"format" schema:"enum=1 2" doc:"The canonical encoding the hash covers (enterprise/audit/FORMAT.md): 1 for events recorded before format 2 existed, 2 since."`
	PrevHash   string          `json:"prev_hash" schema:"pattern=^[0-9a-f]{64}$"`
	Hash       string          `json:"hash" schema:"pattern=^[0-9a-f]{64}$"`
}

func (auditEventJSON) schemaDoc() string {
	return "A sealed event of the org's audit chain. Events are sealed (given seq and hashes) shortly after the mutation that recorded them commits; the list shows sealed events only."
}

func toAuditEvent(ev repo.AuditEvent) auditEventJSON {
	meta := json.RawMessage(ev.Metadata)
	if !json.Valid(meta) {
		meta, _ = json.Marshal(ev.Metadata) // the text, as a string
	}
	out := auditEventJSON{
		Seq: ev.Seq, ID: ev.ID, OccurredAt: ev.OccurredAt.UTC(),
		ActorType: string(ev.ActorType), ActorID: ev.ActorID, Action: ev.Action,
		TargetType: ev.TargetType, TargetID: ev.TargetID, Outcome: string(ev.Outcome),
		Metadata: meta, RemoteAddr: ev.RemoteAddr, RequestID: ev.RequestID, Format: ev.Format,
		PrevHash: hex.EncodeToString(ev.PrevHash), Hash: hex.EncodeToString(ev.Hash),
	}
	if ev.APIKeyID != uuid.Nil {
		out.APIKeyID = ev.APIKeyID.String()
	}
	return out
}

type reportJSON struct {
	OK       bool   `json:"ok"`
	Events   int64  `json:"events"`
	FirstBad int64  `json:"first_bad" doc:"The first sequence number the chain cannot vouch for; 0 when ok."`
	Reason   string `json:"reason" doc:"Empty when ok, else e.g. hash_mismatch, gap, missing_tail, head_mismatch, beyond_head, or unsealed (an event waited to be sealed longer than a minute: is a sealer running?)."`
	Message  string `json:"message"`
	LastSeq  int64  `json:"last_seq"`
	LastHash string `json:"last_hash" doc:"Hex SHA-256 of event last_seq; keep it to check the chain later."`
	// Pending counts the events committed but not yet sealed; the oldest
	// is named when there is one.
	Pending         int64      `json:"pending" doc:"Events committed but not yet sealed, which the chain cannot vouch for yet."`
	OldestPendingID *uuid.UUID `json:"oldest_pending_id,omitempty" doc:"The oldest of them, when there is one."`
	OldestPendingAt *time.Time `json:"oldest_pending_at,omitempty" doc:"When the oldest of them occurred."`
}

func toReport(r audit.Report) reportJSON {
	out := reportJSON{
		OK: r.OK, Events: r.Events, FirstBad: r.FirstBad, Reason: string(r.Reason), Message: r.Message,
		LastSeq: r.LastSeq, LastHash: hex.EncodeToString(r.LastHash), Pending: r.Backlog.Pending,
	}
	if r.Backlog.Pending > 0 {
		at := r.Backlog.OldestTime.UTC()
		out.OldestPendingID, out.OldestPendingAt = &r.Backlog.OldestID, &at
	}
	return out
}
