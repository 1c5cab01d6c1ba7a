package sqliterepo

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/internal/auditrow"
	"github.com/strata-go/strata/repo"
)

// chains caches the head of each org's audit chain as the writer's open
// group has it, so that sealing an event costs one statement, its INSERT.
// The writer seals each event in the transaction that records it (the
// database's write lock, held from BEGIN IMMEDIATE to COMMIT, is the only
// lock a chain needs), and moves each head row once per group commit
// (group.finish), not once per event.
//
// An org's head is read from the database the first time the process
// appends to it after the cache was last emptied. A member that fails puts
// back the heads it moved (group.undo); a group that rolls back, or whose
// COMMIT fails, empties the cache. Should another process have appended to
// the same file meanwhile, the database refuses the event sealed against the
// stale head (it does not extend the chain): the append reads the head
// afresh and inserts again, in the same transaction, which holds the write
// lock.
//
// Only the holder of the writer's turn touches chains.
type chains struct {
	heads map[uuid.UUID]auditrow.Head
}

// append seals ev against its org's head, as w's cache has it or else as
// stored, and inserts it.
func (g *group) append(ctx context.Context, w *writer, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
	c := &w.chains
	head, cached := c.heads[ev.OrgID]
	for {
		if !cached {
			row, err := g.q.LockAuditHead(ctx, ev.OrgID)
			if err != nil {
				return repo.AuditEvent{}, mapErr(err, "org")
			}
			head = auditrow.Head{Chain: row.Chain, Seq: row.Seq, Hash: row.Hash}
			if row.BlockMinAt != nil && row.BlockMaxAt != nil {
				head.Block = &auditrow.Span{Min: fromMicros(*row.BlockMinAt), Max: fromMicros(*row.BlockMaxAt)}
			}
		}
		next := head
		done, err := next.Seal(&ev, seal)
		if err != nil {
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
		if cached && takenSeq(err) {
			cached = false // stale: try once more against the stored head
			w.staleHeads.Add(1)
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
		g.moved(c, ev.OrgID, next)
		return ev, nil
	}
}

// moved records that the running member moved org's head to h, keeping
// the head as it was before in g.before, and that the group must write it.
func (g *group) moved(c *chains, org uuid.UUID, h auditrow.Head) {
	if _, seen := g.before[org]; !seen {
		if g.before == nil {
			g.before = make(map[uuid.UUID]*auditrow.Head)
		}
		var prev *auditrow.Head
		if old, ok := c.heads[org]; ok {
			prev = &old
		}
		g.before[org] = prev
	}
	if g.dirty == nil {
		g.dirty = make(map[uuid.UUID]bool)
	}
	g.dirty[org] = true
	if c.heads == nil {
		c.heads = make(map[uuid.UUID]auditrow.Head)
	}
	c.heads[org] = h
}

// undo puts back the heads the failed member moved: rolling back its
// savepoint (or the group) took back its events.
func (g *group) undo(c *chains) {
	for org, h := range g.before {
		if h == nil {
			delete(c.heads, org)
		} else {
			c.heads[org] = *h
		}
	}
}

// writeHeads moves the head rows of the orgs the group appended to, to the
// heads its members left in the cache (an org whose only appender failed
// has none left to write).
func (g *group) writeHeads(c *chains) error {
	for org := range g.dirty {
		h, ok := c.heads[org]
		if !ok {
			continue
		}
		p := sqlitedb.MoveAuditHeadParams{Chain: h.Chain, Seq: h.Seq, Hash: h.Hash}
		if h.Block != nil {
			lo, hi := h.Block.Min.UnixMicro(), h.Block.Max.UnixMicro()
			p.BlockMinAt, p.BlockMaxAt = &lo, &hi
		}
		if err := g.q.MoveAuditHead(context.Background(), p); err != nil {
			return err
		}
	}
	return nil
}

// forget empties the cache: after a rollback or a failed commit it no
// longer says what the database holds.
func (c *chains) forget() { clear(c.heads) }

// takenSeq reports whether err is the refusal of an event at a sequence
// number that does not extend its chain (the cached head was stale): by
// the chain guard (migration 000005's trigger) or the primary key. Either
// fails the statement alone and leaves the transaction open.
func takenSeq(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	c := se.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_TRIGGER || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// fromMicros is the time of a count of microseconds since 1970, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
