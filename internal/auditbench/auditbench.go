// Package auditbench measures what an audit event adds to a small write
// transaction, on either dialect, by comparing the layer with hand-written
// driver code on the same database (see [EventCost]). Each adapter's
// BenchmarkAuditEventCost supplies its driver side.
package auditbench

import (
	"context"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/internal/benchcmp"
	"github.com/strata-go/strata/repo"
)

// Columns are the audit event's fifteen columns, in InsertAuditEvent's
// order: the bare table that [EventCost] compares with has these and
// nothing else.
const Columns = "org_id, seq, id, occurred_at, actor_type, actor_id, action, " +
	"target_type, target_id, outcome, metadata, remote_addr, request_id, prev_hash, hash"

// Event is the audit event the driver side writes with a project.
type Event struct {
	OrgID      uuid.UUID
	Seq        int64
	ID         uuid.UUID
	TargetID   string // the project's ID
	RequestID  string
	PrevHash   []byte
	Hash       []byte
	OccurredAt time.Time
}

// Args returns the event's values in [Columns] order, with at in place of
// its time (which each dialect stores its own way).
func (e *Event) Args(at any) []any {
	return []any{e.OrgID, e.Seq, e.ID, at, "user", "u-1", "project.create", "project", e.TargetID,
		"success", "{}", "203.0.113.7", e.RequestID, e.PrevHash, e.Hash}
}

// Raw runs one hand-written transaction with the adapter's driver: it
// creates the project (id, org, name, no description, created and updated
// at now) with CreateProject's statement, then, unless insert is "", runs
// insert with ev's [Event.Args], and commits.
type Raw func(id, org uuid.UUID, name string, now time.Time, insert string, ev *Event) error

// seal is the hash both sides give an event: SHA-256 over the previous hash
// and the event's ID. (The real sealer, enterprise/audit.Seal, also encodes
// the event; BenchmarkSeal there measures it.)
func seal(prev []byte, id uuid.UUID) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(id[:])
	return h.Sum(nil)
}

// EventCost splits what an audit event adds to a small write transaction
// on db. Five kinds of transaction run side by side, in alternating rounds
// of 16 (see [benchcmp.Rounds]):
//
//	raw            the driver: BEGIN, CreateProject's statement, COMMIT
//	raw-bare-row   the same, plus bareInsert: the event's columns into a
//	               table with nothing around them (no key, index,
//	               constraint, foreign key or trigger), the least any
//	               trail that stores a row per event can cost
//	raw-event      the same, plus eventInsert (InsertAuditEvent's
//	               statement): the real table, with its key, index,
//	               constraints and head guard
//	strata         db.InTx: Projects().Create
//	strata-event   db.InTx: Projects().Create, AuditEvents().Append
//
// It reports each rate and three audited/unaudited ratios: the bare row's
// (the floor), the raw event's (what the schema's guarantees add) and the
// layer's (BenchmarkMutation's ratio, without the service).
func EventCost(b *testing.B, db repo.DB, raw Raw, bareInsert, eventInsert string) {
	ctx := context.Background()
	newOrg := func(slug string) uuid.UUID {
		org, err := db.Orgs().Create(ctx, repo.NewOrg{Slug: slug, Name: slug})
		if err != nil {
			b.Fatal(err)
		}
		return org.ID
	}
	// The layer appends to an org of its own: the driver side moving its
	// chain head would make the layer's cached head stale.
	rawOrg, layerOrg := newOrg("bench-raw"), newOrg("bench-layer")
	// The chain heads the driver side appends to, both at zero as every
	// chain starts: its own for the bare table, rawOrg's in the database
	// for audit_events.
	type head struct {
		seq  int64
		hash []byte
	}
	bare, stored := head{hash: make([]byte, repo.HashLen)}, head{hash: make([]byte, repo.HashLen)}
	var n int // names the projects, unique in their org
	// driver runs one driver-side transaction, with an event through
	// insert against h unless insert is "".
	driver := func(insert string, h *head) error {
		n++
		id, now := uuid.Must(uuid.NewV7()), time.Now()
		var ev *Event
		if insert != "" {
			ev = &Event{OrgID: rawOrg, Seq: h.seq + 1, ID: uuid.Must(uuid.NewV7()), TargetID: id.String(),
				RequestID: "r-" + strconv.Itoa(n), PrevHash: h.hash, OccurredAt: now}
			ev.Hash = seal(ev.PrevHash, ev.ID)
		}
		if err := raw(id, rawOrg, "raw-"+strconv.Itoa(n), now, insert, ev); err != nil {
			return err
		}
		if ev != nil {
			*h = head{ev.Seq, ev.Hash} // committed
		}
		return nil
	}
	sealer := func(ev *repo.AuditEvent) []byte { return seal(ev.PrevHash, ev.ID) }
	layer := func(audited bool) error {
		n++
		return db.InTx(ctx, func(tx repo.Store) error {
			p, err := tx.Projects().Create(ctx, layerOrg, repo.NewProject{Name: "strata-" + strconv.Itoa(n)})
			if err != nil || !audited {
				return err
			}
			_, err = tx.AuditEvents().Append(ctx, repo.AuditEvent{
				OrgID: layerOrg, ActorType: repo.ActorUser, ActorID: "u-1", Action: "project.create",
				TargetType: "project", TargetID: p.ID.String(), Outcome: repo.OutcomeSuccess,
				RemoteAddr: "203.0.113.7", RequestID: "r-" + strconv.Itoa(n),
			}, sealer)
			return err
		})
	}
	took := benchcmp.Rounds(b, 16, []benchcmp.Kind{
		{Name: "raw", Run: func() error { return driver("", nil) }},
		{Name: "raw-bare-row", Run: func() error { return driver(bareInsert, &bare) }},
		{Name: "raw-event", Run: func() error { return driver(eventInsert, &stored) }},
		{Name: "strata", Run: func() error { return layer(false) }},
		{Name: "strata-event", Run: func() error { return layer(true) }},
	})
	b.ReportMetric(took[0].Seconds()/took[1].Seconds(), "bare-row/unaudited")
	b.ReportMetric(took[0].Seconds()/took[2].Seconds(), "raw-audited/unaudited")
	b.ReportMetric(took[3].Seconds()/took[4].Seconds(), "audited/unaudited")
}
