package httpapi

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// The access check and the audit trail: reads with query parameters.

// auditService is what the access-check and audit routes call of the service.
type auditService interface {
	CheckAccess(ctx context.Context, p service.Principal, slug string, userID uuid.UUID, perm string, projectID *uuid.UUID) (rbac.Decision, error)
	ListAuditEvents(ctx context.Context, p service.Principal, slug string, f repo.AuditFilter, page repo.PageRequest) (repo.Page[repo.AuditEvent], error)
	VerifyAudit(ctx context.Context, p service.Principal, slug string) (audit.Report, error)
	ExportAudit(ctx context.Context, p service.Principal, slug string, format service.ExportFormat, f repo.AuditFilter, w io.Writer) (int64, error)
}

// accessRoutes is the access check.
func (s *server) accessRoutes() group {
	return group{tag: "access", about: "Ask whether a member may do something, and why (the deciding role and binding).", routes: []route{
		{"GET /v1/orgs/{org}/access-check", s.v1(s.checkAccess), op{id: "checkAccess", summary: "May a member use a permission, org-wide or on one project?", needs: "members.read", out: decisionJSON{},
			query: []param{
				{Name: "user_id", In: "query", Required: true, Schema: schema{Type: "string", Format: "uuid"}, Description: "The member asked about.", Example: "5f0c3a52-8d4e-4b8f-9a61-0d2b7c9e1f43"},
				{Name: "permission", In: "query", Required: true, Schema: stringSchema, Description: "A known permission, e.g. `projects.update`.", Example: "projects.update"},
				{Name: "project_id", In: "query", Schema: schema{Type: "string", Format: "uuid"}, Description: "The project; absent: the org."},
			}}},
	}}
}

// auditFilterParams are the query parameters auditFilter reads.
var auditFilterParams = []param{
	queryParam("actor_id", "actor_id", stringSchema, "Only events by this actor."),
	queryParam("action", "action", stringSchema, "Only this action, e.g. project.create."),
	queryParam("target_type", "target_type", stringSchema, "Only this target type, e.g. project."),
	queryParam("target_id", "target_id", stringSchema, "Only this target."),
	queryParam("outcome", "outcome", schema{Type: "string", Enum: []any{"success", "denied"}}, "Only success or denied."),
	queryParam("since", "since", schema{Type: "string", Format: "date-time"}, "Only events at or after this time (RFC 3339)."),
	queryParam("until", "until", schema{Type: "string", Format: "date-time"}, "Only events before this time (RFC 3339)."),
	queryParam("order", "order", schema{Type: "string", Enum: []any{"asc", "desc"}}, "asc (oldest first) or desc (newest first)."),
}

// auditRoutes are the routes of the org's audit trail.
func (s *server) auditRoutes() group {
	stream := func(s schema) map[string]schema { return map[string]schema{"schema": s} }
	return group{tag: "audit", about: "The tamper-evident audit trail: every change and every refusal, in a hash chain per org; list, verify and export.", routes: []route{
		{"GET /v1/orgs/{org}/audit-events", s.v1(s.listAuditEvents), op{id: "listAuditEvents", summary: "List the org's audit events, newest first unless order=asc.",
			needs: "audit.read", query: auditFilterParams, out: listJSON[auditEventJSON]{}}},
		{"GET /v1/orgs/{org}/audit-events/verify", s.v1(s.verifyAudit), op{id: "verifyAudit", summary: "Recompute the org's audit hash chain.", needs: "audit.read", out: reportJSON{}}},
		{"GET /v1/orgs/{org}/audit-events/export", s.v1(s.exportAudit), op{id: "exportAudit", summary: "Stream the org's audit events, oldest first unless order=desc.",
			about: "An unfiltered, ascending export verifies as a chain. An error after the first byte cuts the response off.", needs: "audit.read",
			query: append([]param{{Name: "format", In: "query", Schema: schema{Type: "string", Enum: []any{"jsonl", "csv"}, Default: "jsonl"}}}, auditFilterParams...),
			raw: &response{Description: "The events, streamed: JSONL (the verifiable form, see enterprise/audit/FORMAT.md) or CSV with a header row.",
				Content: ordered{{"application/x-ndjson", stream(stringSchema)}, {"text/csv", stream(stringSchema)}}}}},
	}}
}

func (s *server) checkAccess(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	q := r.URL.Query()
	userID, err := requiredID("user_id", q.Get("user_id"))
	if err != nil {
		return err
	}
	projectID, err := optionalID("project_id", q.Get("project_id"))
	if err != nil {
		return err
	}
	d, err := s.svc.CheckAccess(r.Context(), p, org(r), userID, q.Get("permission"), projectID)
	return s.reply(w, r, http.StatusOK, toDecision(d), err)
}

// auditFilter reads the audit filters of a query: actor_id, action,
// target_type, target_id, outcome, since and until (RFC 3339), and order
// (asc or desc; "" means descending when newestFirst).
func auditFilter(q url.Values, newestFirst bool) (repo.AuditFilter, error) {
	f := repo.AuditFilter{
		ActorID: q.Get("actor_id"), Action: q.Get("action"),
		TargetType: q.Get("target_type"), TargetID: q.Get("target_id"),
		Outcome: repo.Outcome(q.Get("outcome")),
	}
	switch f.Outcome {
	case "", repo.OutcomeSuccess, repo.OutcomeDenied:
	default:
		return f, repo.Invalid("outcome", "must be success or denied")
	}
	var err error
	if f.Since, err = optionalTime("since", q.Get("since")); err != nil {
		return f, err
	}
	if f.Until, err = optionalTime("until", q.Get("until")); err != nil {
		return f, err
	}
	switch q.Get("order") {
	case "":
		f.Descending = newestFirst
	case "asc":
	case "desc":
		f.Descending = true
	default:
		return f, repo.Invalid("order", "must be asc or desc")
	}
	return f, nil
}

func (s *server) listAuditEvents(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	f, err := auditFilter(r.URL.Query(), true)
	if err != nil {
		return err
	}
	return list(s, w, r, toAuditEvent, func(page repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
		return s.svc.ListAuditEvents(r.Context(), p, org(r), f, page)
	})
}

func (s *server) verifyAudit(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	rep, err := s.svc.VerifyAudit(r.Context(), p, org(r))
	return s.reply(w, r, http.StatusOK, toReport(rep), err)
}

// exportTypes are the export formats and their content types.
var exportTypes = map[service.ExportFormat]string{
	service.JSONL: "application/x-ndjson",
	service.CSV:   "text/csv; charset=utf-8",
}

// exportAudit streams the org's audit events, oldest first unless ?order=desc.
// An error before the first byte is a JSON error; one after it cuts the
// response off, so the client cannot take a truncated export for a whole one.
func (s *server) exportAudit(w http.ResponseWriter, r *http.Request, p service.Principal) error {
	q := r.URL.Query()
	format := service.ExportFormat(cmp.Or(q.Get("format"), string(service.JSONL)))
	ctype, ok := exportTypes[format]
	if !ok {
		return repo.Invalid("format", "must be jsonl or csv")
	}
	f, err := auditFilter(q, false)
	if err != nil {
		return err
	}
	out := &lazyWriter{w: w, start: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "audit-" + org(r) + "." + string(format)}))
		w.WriteHeader(http.StatusOK)
	}}
	_, err = s.svc.ExportAudit(r.Context(), p, org(r), format, f, out)
	switch {
	case err == nil:
		out.begin()
		return nil
	case !out.started:
		return err
	}
	st := stateOf(r.Context())
	s.log.Error("audit export failed after it began", "err", err, "request_id", st.id)
	panic(http.ErrAbortHandler)
}

// lazyWriter sends the status and headers with the first byte written, so
// that an error before it can still become an error status.
type lazyWriter struct {
	w       http.ResponseWriter
	start   func(http.ResponseWriter)
	started bool
}

func (lw *lazyWriter) begin() {
	if !lw.started {
		lw.started = true
		lw.start(lw.w)
	}
}

func (lw *lazyWriter) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	lw.begin()
	return lw.w.Write(b)
}

// Flush sends what has been written so far.
func (lw *lazyWriter) Flush() {
	lw.begin()
	_ = http.NewResponseController(lw.w).Flush() // best effort: the next Write reports a gone client
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
