package sqliterepo

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	sqlitedb "github.com/strata-go/strata/db/sqlite"
	"github.com/strata-go/strata/repo"
)

// chains caches the head of each org's audit chain as the writer's open
// group has it, so that an append costs one statement, the INSERT, rather
// than a read of the head and the INSERT.
//
// An org's head is read from the database the first time the process
// appends to it after the cache was last emptied. A member that fails puts
// back the heads it moved (group.undo); a group that rolls back, or whose
// COMMIT fails, empties the cache. Should another process have appended to
// the same file meanwhile, the database refuses the INSERT against the
// stale head (migration 000003's head guard): the append reads the head
// afresh and inserts again, in the same transaction, which holds the write
// lock.
//
// Only the holder of the writer's turn touches chains.
type chains struct {
	heads map[uuid.UUID]chainHead
}

// chainHead is an org's last sequence number and hash.
type chainHead struct {
	seq  int64
	hash []byte
}

// append seals ev against its org's head, as w's cache has it or else as
// stored, and inserts it, moving the head.
func (g *group) append(ctx context.Context, w *writer, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
	c := &w.chains
	head, cached := c.heads[ev.OrgID]
	for {
		if !cached {
			row, err := g.q.LockAuditHead(ctx, ev.OrgID)
			if err != nil {
				return repo.AuditEvent{}, mapErr(err, "org")
			}
			head = chainHead{seq: row.Seq, hash: row.Hash}
		}
		ev.Seq, ev.PrevHash = head.seq+1, head.hash
		if err := repo.Seal(&ev, seal); err != nil {
			return repo.AuditEvent{}, err
		}
		err := g.q.InsertAuditEvent(ctx, sqlitedb.InsertAuditEventParams{
			OrgID: ev.OrgID, Seq: ev.Seq, ID: ev.ID, OccurredAt: formatTime(ev.OccurredAt),
			ActorType: string(ev.ActorType), ActorID: ev.ActorID, Action: ev.Action,
			TargetType: ev.TargetType, TargetID: ev.TargetID, Outcome: string(ev.Outcome),
			Metadata: ev.Metadata, RemoteAddr: ev.RemoteAddr, RequestID: ev.RequestID,
			PrevHash: ev.PrevHash, Hash: ev.Hash,
		})
		if cached && refusedByGuard(err) {
			cached = false // stale: try once more against the stored head
			w.staleHeads.Add(1)
			continue
		}
		if err != nil {
			return repo.AuditEvent{}, mapErr(err, "audit event")
		}
		g.moved(c, ev.OrgID, chainHead{seq: ev.Seq, hash: ev.Hash})
		return ev, nil
	}
}

// moved records that the running member moved org's head to h, keeping
// the head as it was before in g.before.
func (g *group) moved(c *chains, org uuid.UUID, h chainHead) {
	if _, seen := g.before[org]; !seen {
		if g.before == nil {
			g.before = make(map[uuid.UUID]*chainHead)
		}
		var prev *chainHead
		if old, ok := c.heads[org]; ok {
			prev = &old
		}
		g.before[org] = prev
	}
	if c.heads == nil {
		c.heads = make(map[uuid.UUID]chainHead)
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

// forget empties the cache: after a rollback or a failed commit it no
// longer says what the database holds.
func (c *chains) forget() { clear(c.heads) }

// refusedByGuard reports whether err is the head guard's refusal of an
// event (a trigger's RAISE(ABORT)), which fails the statement alone and
// leaves the transaction open.
func refusedByGuard(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_TRIGGER
}
