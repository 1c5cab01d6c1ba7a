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
