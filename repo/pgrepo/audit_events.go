package pgrepo

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"

	pgdb "github.com/strata-go/strata/db/pg"
	"github.com/strata-go/strata/internal/auditrow"
	"github.com/strata-go/strata/repo"
)

// The bounds of one SealPending call: the orgs it seals, and the events of
// each. A call that reaches them reports More.
const (
	sealOrgs   = 64
	sealPerOrg = 1000
)

type auditEvents struct{ s *Store }

// Append queues ev, unsealed, in the transaction: its INSERT into
// audit_pending goes to the server with the COMMIT (see txConn). It takes
// no lock, and seals nothing: SealPending does, after the commit.
func (r auditEvents) Append(ctx context.Context, ev repo.AuditEvent, _ repo.Sealer) (repo.AuditEvent, error) {
	if err := repo.PrepareAuditEvent(&ev); err != nil {
		return repo.AuditEvent{}, err
	}
	err := r.s.inTx(ctx, func(tx *Store) error {
		if err := tx.knownOrg(ctx, ev.OrgID); err != nil {
			return err
		}
		err := pgdb.New(tx.tx.deferred()).InsertPendingAuditEvent(ctx, pgdb.InsertPendingAuditEventParams{
			OrgID: ev.OrgID, ID: ev.ID, OccurredAt: ev.OccurredAt, Format: int16(ev.Format),
			ActorType: auditrow.ActorCode(ev.ActorType), Outcome: auditrow.OutcomeCode(ev.Outcome),
			ActorID: auditrow.Ref(ev.ActorID), TargetID: auditrow.Ref(ev.TargetID),
			ApiKeyID: auditrow.UUIDRef(ev.APIKeyID), Action: ev.Action, TargetType: ev.TargetType,
			Metadata: ev.Metadata, RemoteAddr: ev.RemoteAddr, RequestID: ev.RequestID,
		})
		if err != nil {
			return mapErr(err, "audit event")
		}
		tx.tx.queued = true
		if tx.tx.event == nil {
			tx.tx.event = &queuedEvent{org: ev.OrgID, id: ev.ID, at: ev.OccurredAt}
		}
		return nil
	})
	if err != nil {
		return repo.AuditEvent{}, err
	}
	return ev, nil
}

// knownOrg checks that org has an audit chain, so that no event of an org
// that does not exist waits in the queue for a sealer that would never seal
// it. Chains are never removed (orgs are only soft-deleted), so an org the
// process saw committed is remembered, and its check costs nothing after
// the first; the first is one query in the transaction, which sees an org
// the transaction itself created.
func (s *Store) knownOrg(ctx context.Context, org uuid.UUID) error {
	if _, ok := s.chains.Load(org); ok {
		return nil
	}
	if _, err := s.w.GetAuditHead(ctx, org); err != nil {
		return notFoundOr(err, "org")
	}
	s.tx.chains = append(s.tx.chains, org) // remembered once the transaction commits
	return nil
}

// SealPending seals a batch of pending events in one transaction, on a
// connection of its own (see sealerPool): it locks the heads of up to
// sealOrgs orgs with pending events that no other process holds (FOR NO
// KEY UPDATE SKIP LOCKED), reads up to sealPerOrg of each one's oldest
// events, seals them in order of their IDs, and sends their move into the
// chains (SealAuditEvents), the blocks they complete and the new heads with
// the COMMIT, in one round trip.
func (r auditEvents) SealPending(ctx context.Context, seal repo.Sealer) (repo.SealReport, error) {
	pool, err := r.s.sealer.get(ctx)
	if err != nil {
		return repo.SealReport{}, mapErr(err, "database")
	}
	var rep repo.SealReport
	err = r.s.retry.Do(ctx, func() error {
		return r.s.runTx(ctx, pool, func(tx repo.Store) error {
			var err error
			rep, err = sealBatch(ctx, tx.(*Store), seal)
			return err
		})
	})
	if err != nil {
		return repo.SealReport{}, err
	}
	rep.SealedAt = time.Now()
	r.s.sealer.sealed(ctx, pool, len(rep.Sealed))
	return rep, nil
}

// sealBatch is SealPending's transaction, tx.
func sealBatch(ctx context.Context, tx *Store, seal repo.Sealer) (repo.SealReport, error) {
	var rep repo.SealReport
	q := pgdb.New(tx.tx)
	locked, err := q.LockAuditHeadsToSeal(ctx, sealOrgs)
	if err != nil || len(locked) == 0 {
		return rep, mapErr(err, "audit heads")
	}
	heads := make(map[uuid.UUID]*auditrow.Head, len(locked))
	orgs := make([]uuid.UUID, len(locked))
	for i, h := range locked {
		orgs[i] = h.OrgID
		heads[h.OrgID] = &auditrow.Head{Chain: int64(h.Chain), Seq: h.Seq, Hash: h.Hash}
		if h.BlockMinAt != nil && h.BlockMaxAt != nil {
			heads[h.OrgID].Block = &auditrow.Span{Min: *h.BlockMinAt, Max: *h.BlockMaxAt}
		}
	}
	rows, err := q.ListPendingAuditEvents(ctx, pgdb.ListPendingAuditEventsParams{OrgIds: orgs, PerOrg: sealPerOrg})
	if err != nil || len(rows) == 0 {
		return rep, mapErr(err, "audit events")
	}
	rep.More = len(locked) == sealOrgs
	move := pgdb.SealAuditEventsParams{}
	var blocks []pgdb.InsertAuditBlockParams
	perOrg := map[uuid.UUID]int{}
	for _, row := range rows {
		ev, err := pendingEvent(row)
		if err != nil {
			return rep, err
		}
		h := heads[row.OrgID]
		done, err := h.Seal(&ev, seal)
		if err != nil {
			return rep, err
		}
		if done != nil {
			blocks = append(blocks, pgdb.InsertAuditBlockParams{Chain: int32(h.Chain), Block: done.Number, MinAt: done.Min, MaxAt: done.Max})
		}
		move.OrgIds = append(move.OrgIds, row.OrgID)
		move.Ids = append(move.Ids, ev.ID)
		move.Chains = append(move.Chains, int32(h.Chain))
		move.Seqs = append(move.Seqs, ev.Seq)
		move.Hashes = append(move.Hashes, ev.Hash)
		rep.Sealed = append(rep.Sealed, repo.SealedEvent{OrgID: ev.OrgID, ID: ev.ID, Seq: ev.Seq, OccurredAt: ev.OccurredAt})
		if perOrg[row.OrgID]++; perOrg[row.OrgID] == sealPerOrg {
			rep.More = true
		}
	}
	// Queued, in this order, and sent with the COMMIT: each refuses what
	// the one before did not make true (see migration 000005).
	deferred := pgdb.New(tx.tx.deferred())
	_ = deferred.SealAuditEvents(ctx, move)
	for _, b := range blocks {
		_ = deferred.InsertAuditBlock(ctx, b)
	}
	for org := range perOrg {
		h := heads[org]
		p := pgdb.MoveAuditHeadParams{Chain: int32(h.Chain), Seq: h.Seq, Hash: h.Hash}
		if h.Block != nil {
			p.BlockMinAt, p.BlockMaxAt = &h.Block.Min, &h.Block.Max
		}
		_ = deferred.MoveAuditHead(ctx, p)
	}
	return rep, nil
}

// pendingEvent converts a queued event.
func pendingEvent(p pgdb.AuditPending) (repo.AuditEvent, error) {
	ev := repo.AuditEvent{
		OrgID: p.OrgID, ID: p.ID, OccurredAt: repo.Timestamp(p.OccurredAt), Format: int(p.Format),
		ActorID: auditrow.Text(p.ActorID), Action: p.Action, TargetType: p.TargetType,
		TargetID: auditrow.Text(p.TargetID), Metadata: p.Metadata, RemoteAddr: p.RemoteAddr, RequestID: p.RequestID,
	}
	return ev, decodeCodes(&ev, p.ActorType, p.Outcome, p.ApiKeyID)
}

// decodeCodes fills in ev's actor type, outcome and API key from their
// stored forms.
func decodeCodes(ev *repo.AuditEvent, actorType, outcome int16, apiKey []byte) error {
	var err error
	if ev.ActorType, err = auditrow.ActorType(actorType); err != nil {
		return err
	}
	if ev.Outcome, err = auditrow.Outcome(outcome); err != nil {
		return err
	}
	ev.APIKeyID, err = auditrow.RefUUID(apiKey)
	return err
}

func (r auditEvents) Backlog(ctx context.Context, orgID uuid.UUID) (repo.AuditBacklog, error) {
	if orgID == uuid.Nil {
		row, err := r.s.w.AuditBacklogAll(ctx)
		if errNoRows(err) {
			return repo.AuditBacklog{}, nil
		}
		return repo.AuditBacklog{Pending: row.Pending, OldestID: row.ID, OldestOrg: row.OrgID,
			OldestTime: repo.Timestamp(row.OccurredAt)}, mapErr(err, "audit events")
	}
	row, err := r.s.w.AuditBacklog(ctx, orgID)
	if errNoRows(err) {
		return repo.AuditBacklog{}, nil
	}
	return repo.AuditBacklog{Pending: row.Pending, OldestID: row.ID, OldestOrg: orgID,
		OldestTime: repo.Timestamp(row.OccurredAt)}, mapErr(err, "audit events")
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
		OrgID: orgID, Lo: 1, Hi: math.MaxInt64, Lim: int32(size + 1),
		Action: optString(f.Action), TargetType: optString(f.TargetType),
		Since: optTimeValue(f.Since), Until: optTimeValue(f.Until),
	}
	if f.ActorID != "" {
		p.ActorID = auditrow.Ref(f.ActorID)
	}
	if f.TargetID != "" {
		p.TargetID = auditrow.Ref(f.TargetID)
	}
	if f.Outcome != "" {
		code := auditrow.OutcomeCode(f.Outcome)
		p.Outcome = &code
	}
	if p.Since != nil || p.Until != nil {
		// The time range of the blocks narrows the scan to the window.
		span, err := r.s.r.AuditTimeSpan(ctx, pgdb.AuditTimeSpanParams{
			OrgID: orgID, Since: valueOr(p.Since, minTime), Until: valueOr(p.Until, maxTime)})
		if err != nil {
			return repo.Page[repo.AuditEvent]{}, mapErr(err, "audit events")
		}
		p.Lo, p.Hi = span.Lo, span.Hi
	}
	p.Lo, p.Hi = repo.AuditSeqRange(f, cursor, p.Lo, p.Hi)
	var rows []pgdb.ListAuditEventsAscRow
	if f.Descending {
		var desc []pgdb.ListAuditEventsDescRow
		desc, err = r.s.r.ListAuditEventsDesc(ctx, pgdb.ListAuditEventsDescParams(p))
		rows = make([]pgdb.ListAuditEventsAscRow, len(desc))
		for i, row := range desc {
			rows[i] = pgdb.ListAuditEventsAscRow(row)
		}
	} else {
		rows, err = r.s.r.ListAuditEventsAsc(ctx, p)
	}
	if err != nil {
		return repo.Page[repo.AuditEvent]{}, mapErr(err, "audit events")
	}
	items := make([]repo.AuditEvent, len(rows))
	for i, row := range rows {
		items[i] = repo.AuditEvent{
			OrgID: orgID, Seq: row.Seq, ID: row.ID, OccurredAt: repo.Timestamp(row.OccurredAt), Format: int(row.Format),
			ActorID: auditrow.Text(row.ActorID), Action: row.Action, TargetType: row.TargetType,
			TargetID: auditrow.Text(row.TargetID), Metadata: row.Metadata, RemoteAddr: row.RemoteAddr,
			RequestID: row.RequestID, PrevHash: row.PrevHash, Hash: row.Hash,
		}
		if err := decodeCodes(&items[i], row.ActorType, row.Outcome, row.ApiKeyID); err != nil {
			return repo.Page[repo.AuditEvent]{}, err
		}
	}
	return repo.MakePage("audit_events", items, size,
		func(e repo.AuditEvent) string { return strconv.FormatInt(e.Seq, 10) }), nil
}

// The bounds of a time window open on one side: the years 0 and 9999
// bound every stored time (repo.ValidateTime).
var (
	minTime = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// valueOr returns *p, or def when p is nil.
func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
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
