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
	NextCursor string `json:"next_cursor"` // "" on the last page
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
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Status   string    `json:"status"`
	JoinedAt time.Time `json:"joined_at"`
}

func toMember(m repo.Member) memberJSON {
	return memberJSON{UserID: m.User.ID, Email: m.User.Email, Name: m.User.Name, Status: string(m.User.Status), JoinedAt: m.JoinedAt.UTC()}
}

type roleJSON struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Builtin     bool      `json:"builtin"`
	Permissions []string  `json:"permissions"`
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
	ProjectID *uuid.UUID `json:"project_id"` // null: org-wide
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
	Key string `json:"key"`
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
	Role      string `json:"role,omitempty"`
	BindingID string `json:"binding_id,omitempty"`
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
	ActorType  string          `json:"actor_type"`
	ActorID    string          `json:"actor_id"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Outcome    string          `json:"outcome"`
	Metadata   json.RawMessage `json:"metadata"`
	RemoteAddr string          `json:"remote_addr"`
	RequestID  string          `json:"request_id"`
	APIKeyID   string          `json:"api_key_id"` // "" when none
	Format     int             `json:"format"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
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
	FirstBad int64  `json:"first_bad"`
	Reason   string `json:"reason"`
	Message  string `json:"message"`
	LastSeq  int64  `json:"last_seq"`
	LastHash string `json:"last_hash"`
	// Pending counts the events committed but not yet sealed; the oldest
	// is named when there is one.
	Pending         int64      `json:"pending"`
	OldestPendingID *uuid.UUID `json:"oldest_pending_id,omitempty"`
	OldestPendingAt *time.Time `json:"oldest_pending_at,omitempty"`
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
