package httpapi

import (
	"cmp"
	"mime"
	"net/http"
	"net/url"

	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// The access check and the audit trail: reads with query parameters.

// accessRoutes is the access check.
func (s *server) accessRoutes() group {
	return group{tag: "access", about: "Ask whether a member may do something, and why (the deciding role and binding).", routes: []route{
		{"GET /v1/orgs/{org}/access-check", s.v1(s.checkAccess), op{id: "checkAccess", summary: "May a member use a permission, org-wide or on one project?", needs: "members.read", out: decisionJSON{},
			query: []param{
				{Name: "user_id", In: "query", Required: true, Schema: schema{Type: "string", Format: "uuid"}, Description: "The member asked about."},
				{Name: "permission", In: "query", Required: true, Schema: stringSchema, Description: "A known permission, e.g. `projects.update`."},
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
