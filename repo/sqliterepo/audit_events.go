package sqliterepo

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/internal/auditrow"
	"github.com/strata-go/strata/repo"
)

// auditEvents implements repo.AuditEvents. The writer links each event
// into its chain in the transaction that records it, and SealPending
// anchors the chains' heads to their ends (see chains).
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
	return r.s.g.append(ctx, &r.s.db.w, ev, seal)
}

// SealPending moves, in one transaction (a member of the writer's group
// commit), the head of every chain with events linked past it to the
// chain's end: the events are sealed. The events were hashed as they were
// linked; seal is not called.
func (r auditEvents) SealPending(ctx context.Context, _ repo.Sealer) (repo.SealReport, error) {
	var rep repo.SealReport
	if !r.s.inTx && r.s.db.w.chains.idle() {
		return repo.SealReport{SealedAt: time.Now()}, nil
	}
	err := r.s.InTx(ctx, func(tx repo.Store) error {
		var err error
		rep.Sealed, err = tx.(*store).g.anchor(ctx, &r.s.db.w.chains)
		return err
	})
	if err != nil {
		return repo.SealReport{}, err
	}
	rep.SealedAt = time.Now()
	return rep, nil
}

func (r auditEvents) Backlog(ctx context.Context, orgID uuid.UUID) (repo.AuditBacklog, error) {
	var (
		b   repo.AuditBacklog
		id  []byte
		at  int64
		err error
	)
	if orgID == uuid.Nil {
		var row sqlitedb.AuditBacklogAllRow
		row, err = r.s.read.AuditBacklogAll(ctx)
		b.Pending, b.OldestOrg, id, at = row.Pending, row.OrgID, row.ID, row.OccurredAt
	} else {
		var row sqlitedb.AuditBacklogRow
		row, err = r.s.read.AuditBacklog(ctx, orgID)
		b.Pending, b.OldestOrg, id, at = row.Pending, orgID, row.ID, row.OccurredAt
	}
	switch {
	case errNoRows(err):
		return repo.AuditBacklog{}, nil
	case err != nil:
		return repo.AuditBacklog{}, mapErr(err, "audit events")
	}
	b.OldestTime = fromMicros(at)
	b.OldestID, err = uuid.FromBytes(id)
	return b, err
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
		OrgID: orgID, Lo: 1, Hi: math.MaxInt64,
		Action: optional(f.Action), TargetType: optional(f.TargetType),
		Since: boundary(f.Since), Until: boundary(f.Until),
		Lim: int64(size) + 1,
	}
	if f.ActorID != "" {
		p.ActorID = auditrow.Ref(f.ActorID)
	}
	if f.TargetID != "" {
		p.TargetID = auditrow.Ref(f.TargetID)
	}
	if f.Outcome != "" {
		code := int64(auditrow.OutcomeCode(f.Outcome))
		p.Outcome = &code
	}
	if p.Since != nil || p.Until != nil {
		span, err := r.s.read.AuditTimeSpan(ctx, sqlitedb.AuditTimeSpanParams{
			OrgID: orgID, Since: valueOr(p.Since, math.MinInt64), Until: valueOr(p.Until, math.MaxInt64)})
		if err != nil {
			return repo.Page[repo.AuditEvent]{}, mapErr(err, "audit events")
		}
		p.Lo, p.Hi = span.Lo, span.Hi
	}
	p.Lo, p.Hi = repo.AuditSeqRange(f, cursor, p.Lo, p.Hi)
	var rows []sqlitedb.ListAuditEventsAscRow
	if f.Descending {
		var desc []sqlitedb.ListAuditEventsDescRow
		desc, err = r.s.read.ListAuditEventsDesc(ctx, sqlitedb.ListAuditEventsDescParams(p))
		rows = make([]sqlitedb.ListAuditEventsAscRow, len(desc))
		for i, row := range desc {
			rows[i] = sqlitedb.ListAuditEventsAscRow(row)
		}
	} else {
		rows, err = r.s.read.ListAuditEventsAsc(ctx, p)
	}
	return toPage("audit_events", size, rows, err, func(row sqlitedb.ListAuditEventsAscRow) (repo.AuditEvent, error) {
		return toAuditEvent(orgID, row)
	}, func(ev repo.AuditEvent) string {
		return strconv.FormatInt(ev.Seq, 10)
	})
}

// toAuditEvent converts a stored event of org's chain.
func toAuditEvent(org uuid.UUID, r sqlitedb.ListAuditEventsAscRow) (repo.AuditEvent, error) {
	ev := repo.AuditEvent{
		OrgID: org, Seq: r.Seq, OccurredAt: fromMicros(r.OccurredAt), Format: int(r.Format),
		ActorID: auditrow.Text(r.ActorID), Action: r.Action, TargetType: r.TargetType,
		TargetID: auditrow.Text(r.TargetID), Metadata: r.Metadata, RemoteAddr: r.RemoteAddr,
		RequestID: r.RequestID, PrevHash: r.PrevHash, Hash: r.Hash,
	}
	id, err := uuid.FromBytes(r.ID)
	if err != nil {
		return ev, err
	}
	ev.ID = id
	if ev.APIKeyID, err = auditrow.RefUUID(r.ApiKeyID); err != nil {
		return ev, err
	}
	if ev.ActorType, err = auditrow.ActorType(r.ActorType); err != nil {
		return ev, err
	}
	ev.Outcome, err = auditrow.Outcome(r.Outcome)
	return ev, err
}

// optional returns nil for "" (no filter) and &s otherwise.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// valueOr returns *p, or def when p is nil.
func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// boundary returns a Since or Until filter as stored, in microseconds since
// 1970: nil for the zero time (no filter), else t rounded up to the
// microsecond, the stored precision, so that "at or after t" and "before
// t" hold exactly for stored times.
func boundary(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	if tr := t.Truncate(time.Microsecond); tr.Before(t) {
		t = tr.Add(time.Microsecond)
	}
	us := t.UnixMicro()
	return &us
}
