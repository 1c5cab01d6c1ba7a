package sqliterepo

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// auditEvents implements repo.AuditEvents.
type auditEvents struct{ s *store }

func (r auditEvents) Append(ctx context.Context, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
	if err := repo.PrepareAuditEvent(&ev); err != nil {
		return repo.AuditEvent{}, err
	}
	if !r.s.inTx {
		var out repo.AuditEvent
		err := r.s.InTx(ctx, func(tx repo.Store) error {
			var err error
			out, err = tx.AuditEvents().Append(ctx, ev, seal)
			return err
		})
		return out, err
	}
	// The writer connection's transaction (BEGIN IMMEDIATE) serializes
	// appends; the group knows the org's head (see chains).
	return r.s.g.append(ctx, &r.s.db.w, ev, seal)
}

func (r auditEvents) Head(ctx context.Context, orgID uuid.UUID) (int64, []byte, error) {
	head, err := r.s.read.GetAuditHead(ctx, orgID)
	if err != nil {
		return 0, nil, mapErr(err, "org")
	}
	return head.Seq, head.Hash, nil
}

func (r auditEvents) List(ctx context.Context, orgID uuid.UUID, f repo.AuditFilter, page repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
	size, cursor, err := repo.AuditPage(f, page)
	if err == nil {
		err = firstErr(repo.ValidateTime("since", f.Since), repo.ValidateTime("until", f.Until))
	}
	if err != nil {
		return repo.Page[repo.AuditEvent]{}, err
	}
	p := sqlitedb.ListAuditEventsAscParams{
		OrgID: orgID, CursorSeq: cursor,
		ActorID: optional(f.ActorID), Action: optional(f.Action), TargetType: optional(f.TargetType),
		TargetID: optional(f.TargetID), Outcome: optional(string(f.Outcome)),
		Since: boundary(f.Since), Until: boundary(f.Until),
		Lim: int64(size) + 1,
	}
	var rows []sqlitedb.AuditEvent
	if f.Descending {
		rows, err = r.s.read.ListAuditEventsDesc(ctx, sqlitedb.ListAuditEventsDescParams(p))
	} else {
		rows, err = r.s.read.ListAuditEventsAsc(ctx, p)
	}
	return toPage("audit_events", size, rows, err, toAuditEvent, func(ev repo.AuditEvent) string {
		return strconv.FormatInt(ev.Seq, 10)
	})
}

// optional returns nil for "" (no filter) and &s otherwise.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// boundary formats a Since or Until filter: nil for the zero time (no
// filter), else t rounded up to the microsecond, the stored precision, so
// that "at or after t" and "before t" hold exactly for stored times.
func boundary(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	if tr := t.Truncate(time.Microsecond); tr.Before(t) {
		t = tr.Add(time.Microsecond)
	}
	s := formatTime(t)
	return &s
}
