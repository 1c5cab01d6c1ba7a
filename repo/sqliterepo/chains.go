package sqliterepo

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/internal/auditrow"
	"github.com/strata-go/strata/repo"
)

// Sealing on SQLite comes in two steps, like on PostgreSQL, but split the
// other way. The writer links each event into its chain (its seq and hash,
// from the end of the chain the writer caches) in the transaction that
// records it: the database's write lock, held from BEGIN IMMEDIATE to
// COMMIT, is the only lock a chain needs, and SQLite's single writer
// serializes everything anyway. The head row, which anchors the chain (an
// event past it is not sealed yet), is moved by the sealer (SealPending),
// shortly after, in a transaction of its own that usually commits in a
// group with others: moving it in every transaction would write one more
// page per commit, a fifth of a small transaction's cost.

// chains caches, per org, the end of its audit chain and the events linked
// past its head, as the writer's open group has them, so that linking an
// event costs one statement, its INSERT.
//
// An org's chain is read from the database the first time the process
// appends to it after the cache was last emptied. A member that fails puts
// back what it changed (group.undo); a group that rolls back, or whose
// COMMIT fails, empties the cache. Should another process have appended to
// the same file meanwhile, the database refuses the event linked to the
// stale end (it does not extend the chain): the append reads the chain
// afresh and inserts again, in the same transaction.
//
// Only the holder of the writer's turn touches chains.
type chains struct {
	heads map[uuid.UUID]chainState
	// recovered is when (Unix nanoseconds) the orgs whose chains have
	// events past their heads were last read from the database (see
	// recoverEvery); 0 after forget.
	recovered atomic.Int64
	// waiting reports that a group that linked events committed since
	// anchor last left every cached chain anchored. Read without the turn,
	// so that SealPending costs no transaction when there is nothing to do.
	waiting atomic.Bool
}

// chainState is what the writer knows of one org's chain.
type chainState struct {
	end     auditrow.Head      // the chain's last event
	anchor  int64              // the seq its head row holds
	waiting []repo.SealedEvent // the events past the head, oldest first
}

// recoverEvery is how often the sealer looks for chains with events past
// their heads that this process did not link (another process, or one that
// stopped before its sealer anchored them).
const recoverEvery = 10 * time.Second

// chain returns org's chain as cached, or else as stored.
func (g *group) chain(ctx context.Context, c *chains, org uuid.UUID) (chainState, error) {
	if st, ok := c.heads[org]; ok {
		return st, nil
	}
	return g.loadChain(ctx, org)
}

// loadChain reads org's chain: its number and head, its last event, the
// time range of the block being filled, and the events past the head.
func (g *group) loadChain(ctx context.Context, org uuid.UUID) (chainState, error) {
	head, err := g.q.GetAuditChain(ctx, org)
	if err != nil {
		return chainState{}, mapErr(err, "org")
	}
	st := chainState{end: auditrow.Head{Chain: head.Chain, Hash: make([]byte, repo.HashLen)}, anchor: head.Seq}
	end, err := g.q.GetAuditChainEnd(ctx, head.Chain)
	switch {
	case errNoRows(err):
		return st, nil // an empty chain
	case err != nil:
		return chainState{}, mapErr(err, "audit events")
	}
	st.end.Seq, st.end.Hash = end.Seq, end.Hash
	if first := (end.Seq-1)/auditrow.BlockSize*auditrow.BlockSize + 1; end.Seq%auditrow.BlockSize != 0 {
		span, err := g.q.GetAuditBlockSpan(ctx, sqlitedb.GetAuditBlockSpanParams{Chain: head.Chain, First: first})
		if err != nil {
			return chainState{}, mapErr(err, "audit events")
		}
		st.end.Block = &auditrow.Span{Min: fromMicros(span.MinAt), Max: fromMicros(span.MaxAt)}
	}
	if end.Seq > head.Seq {
		rows, err := g.q.ListUnanchoredAuditEvents(ctx, sqlitedb.ListUnanchoredAuditEventsParams{Chain: head.Chain, After: head.Seq})
		if err != nil {
			return chainState{}, mapErr(err, "audit events")
		}
		for _, r := range rows {
			id, err := uuid.FromBytes(r.ID)
			if err != nil {
				return chainState{}, err
			}
			st.waiting = append(st.waiting, repo.SealedEvent{OrgID: org, ID: id, Seq: r.Seq, OccurredAt: fromMicros(r.OccurredAt)})
		}
	}
	return st, nil
}

// append links ev into its org's chain, as w's cache has it or else as
// stored, and inserts it.
func (g *group) append(ctx context.Context, w *writer, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
	c := &w.chains
	_, cached := c.heads[ev.OrgID]
	st, err := g.chain(ctx, c, ev.OrgID)
	for err == nil {
		next := st.end
		var done *auditrow.Block
		if done, err = next.Seal(&ev, seal); err != nil {
			return repo.AuditEvent{}, err
		}
		err = g.q.InsertAuditEvent(ctx, sqlitedb.InsertAuditEventParams{
			Chain: next.Chain, Seq: ev.Seq, ID: ev.ID[:], OccurredAt: ev.OccurredAt.UnixMicro(),
			Format: int64(ev.Format), ActorType: int64(auditrow.ActorCode(ev.ActorType)),
			Outcome: int64(auditrow.OutcomeCode(ev.Outcome)), ActorID: auditrow.Ref(ev.ActorID),
			TargetID: auditrow.Ref(ev.TargetID), ApiKeyID: auditrow.UUIDRef(ev.APIKeyID), Hash: ev.Hash,
			Action: ev.Action, TargetType: ev.TargetType, Metadata: ev.Metadata,
			RemoteAddr: ev.RemoteAddr, RequestID: ev.RequestID,
		})
		if cached && notNext(err) {
			cached = false // stale: once more against the stored chain
			w.staleHeads.Add(1)
			st, err = g.loadChain(ctx, ev.OrgID)
			continue
		}
		if err != nil {
			return repo.AuditEvent{}, mapErr(err, "audit event")
		}
		if done != nil {
			err := g.q.InsertAuditBlock(ctx, sqlitedb.InsertAuditBlockParams{Chain: next.Chain, Block: done.Number,
				MinAt: done.Min.UnixMicro(), MaxAt: done.Max.UnixMicro()})
			if err != nil {
				return repo.AuditEvent{}, mapErr(err, "audit block")
			}
		}
		st.end = next
		st.waiting = append(st.waiting,
			repo.SealedEvent{OrgID: ev.OrgID, ID: ev.ID, Seq: ev.Seq, OccurredAt: ev.OccurredAt})
		g.moved(c, ev.OrgID, st)
		g.linked = true
		return ev, nil
	}
	return repo.AuditEvent{}, err
}

// anchor moves the head rows of the chains with events past their heads to
// their ends, and reports those events sealed. Now and then it first reads
// from the database the chains that this process did not link but have such
// events (see recoverEvery).
func (g *group) anchor(ctx context.Context, c *chains) ([]repo.SealedEvent, error) {
	if c.recoveryDue() {
		orgs, err := g.q.ListUnanchoredAuditChains(ctx)
		if err != nil {
			return nil, mapErr(err, "audit heads")
		}
		for _, org := range orgs {
			st, err := g.loadChain(ctx, org)
			if err != nil {
				return nil, err
			}
			g.moved(c, org, st)
		}
		c.recovered.Store(time.Now().UnixNano())
	}
	var sealed []repo.SealedEvent
	for org, st := range c.heads {
		if len(st.waiting) == 0 {
			continue
		}
		p := sqlitedb.MoveAuditHeadParams{Chain: st.end.Chain, Seq: st.end.Seq, Hash: st.end.Hash}
		if st.end.Block != nil {
			lo, hi := st.end.Block.Min.UnixMicro(), st.end.Block.Max.UnixMicro()
			p.BlockMinAt, p.BlockMaxAt = &lo, &hi
		}
		if err := g.q.MoveAuditHead(ctx, p); err != nil {
			return nil, mapErr(err, "audit head")
		}
		sealed = append(sealed, st.waiting...)
		st.anchor, st.waiting = st.end.Seq, nil
		g.moved(c, org, st)
	}
	c.waiting.Store(false)
	return sealed, nil
}

// idle reports that anchor would find nothing to do: no group linked events
// since it last ran, and no recovery is due.
func (c *chains) idle() bool { return !c.waiting.Load() && !c.recoveryDue() }

func (c *chains) recoveryDue() bool {
	return time.Since(time.Unix(0, c.recovered.Load())) > recoverEvery
}

// moved records that the running member changed org's chain to st,
// keeping the state as it was before in g.before.
func (g *group) moved(c *chains, org uuid.UUID, st chainState) {
	if _, seen := g.before[org]; !seen {
		if g.before == nil {
			g.before = make(map[uuid.UUID]*chainState)
		}
		var prev *chainState
		if old, ok := c.heads[org]; ok {
			prev = &old
		}
		g.before[org] = prev
	}
	if c.heads == nil {
		c.heads = make(map[uuid.UUID]chainState)
	}
	c.heads[org] = st
}

// undo puts back the chains the failed member changed: rolling back its
// savepoint (or the group) took back its events and head moves.
func (g *group) undo(c *chains) {
	for org, st := range g.before {
		if st == nil {
			delete(c.heads, org)
		} else {
			c.heads[org] = *st
		}
	}
}

// forget empties the cache: after a rollback or a failed commit it no
// longer says what the database holds.
func (c *chains) forget() {
	clear(c.heads)
	c.recovered.Store(0)
}

// notNext reports whether err is the refusal of an event at a sequence
// number that does not extend its chain (the cached end was stale): by the
// chain guard (migration 000005's trigger) or the primary key. Either fails
// the statement alone and leaves the transaction open.
func notNext(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_TRIGGER || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// fromMicros is the time of a count of microseconds since 1970, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
