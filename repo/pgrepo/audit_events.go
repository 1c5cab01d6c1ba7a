package pgrepo

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/repo"
)

type auditEvents struct{ s *Store }

func toAuditEvent(e pgdb.AuditEvent) repo.AuditEvent {
	return repo.AuditEvent{
		OrgID: e.OrgID, Seq: e.Seq, ID: e.ID, OccurredAt: repo.Timestamp(e.OccurredAt),
		ActorType: repo.ActorType(e.ActorType), ActorID: e.ActorID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, Outcome: repo.Outcome(e.Outcome),
		Metadata: e.Metadata, RemoteAddr: e.RemoteAddr, RequestID: e.RequestID,
		PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

func (r auditEvents) Append(ctx context.Context, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
	if err := repo.PrepareAuditEvent(&ev); err != nil {
		return repo.AuditEvent{}, err
	}
	err := r.s.inTx(ctx, func(tx *Store) error {
		seq, prev, err := tx.tx.head(ctx, ev.OrgID)
		if err != nil {
			return notFoundOr(err, "org")
		}
		ev.Seq, ev.PrevHash = seq+1, prev
		if err := repo.Seal(&ev, seal); err != nil {
			return err
		}
		// Queued, not sent: the INSERT goes to the server with the COMMIT, or
		// before the transaction's next statement (see txConn).
		err = pgdb.New(tx.tx.deferred()).InsertAuditEvent(ctx, pgdb.InsertAuditEventParams{
			OrgID: ev.OrgID, Seq: ev.Seq, ID: ev.ID, OccurredAt: ev.OccurredAt, ActorType: string(ev.ActorType),
			ActorID: ev.ActorID, Action: ev.Action, TargetType: ev.TargetType, TargetID: ev.TargetID,
			Outcome: string(ev.Outcome), Metadata: ev.Metadata, RemoteAddr: ev.RemoteAddr, RequestID: ev.RequestID,
			PrevHash: ev.PrevHash, Hash: ev.Hash,
		})
		if err != nil {
			return mapErr(err, "audit event")
		}
		tx.tx.appended(ev.OrgID, ev.Seq, ev.Hash)
		return nil
	})
	if err != nil {
		return repo.AuditEvent{}, err
	}
	return ev, nil
}

func (r auditEvents) Head(ctx context.Context, orgID uuid.UUID) (int64, []byte, error) {
	h, err := r.s.r.GetAuditHead(ctx, orgID)
	if err != nil {
		return 0, nil, notFoundOr(err, "org")
	}
	return h.Seq, h.Hash, nil
}

func (r auditEvents) List(ctx context.Context, orgID uuid.UUID, f repo.AuditFilter, page repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
	size, cursor, err := repo.AuditPage(f, page)
	if err != nil {
		return repo.Page[repo.AuditEvent]{}, err
	}
	p := pgdb.ListAuditEventsAscParams{
		OrgID: orgID, CursorSeq: cursor, Lim: int32(size + 1),
		ActorID: optString(f.ActorID), Action: optString(f.Action), TargetType: optString(f.TargetType),
		TargetID: optString(f.TargetID), Outcome: optString(string(f.Outcome)),
		Since: optTimeValue(f.Since), Until: optTimeValue(f.Until),
	}
	var rows []pgdb.AuditEvent
	if f.Descending {
		rows, err = r.s.r.ListAuditEventsDesc(ctx, pgdb.ListAuditEventsDescParams(p))
	} else {
		rows, err = r.s.r.ListAuditEventsAsc(ctx, p)
	}
	if err != nil {
		return repo.Page[repo.AuditEvent]{}, mapErr(err, "audit events")
	}
	return repo.MakePage("audit_events", convertAll(rows, toAuditEvent), size,
		func(e repo.AuditEvent) string { return strconv.FormatInt(e.Seq, 10) }), nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTimeValue(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return ptr(repo.Timestamp(t))
}
