package repotest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// head checks the org's audit head.
func (e *env) head(org uuid.UUID, seq int64, hash []byte) {
	e.t.Helper()
	gotSeq, gotHash, err := e.db.AuditEvents().Head(e.ctx, org)
	ok(e.t, err)
	if gotSeq != seq || !bytes.Equal(gotHash, hash) {
		e.t.Errorf("Head = %d, %x; want %d, %x", gotSeq, gotHash, seq, hash)
	}
}

// checkChain checks that events are a whole chain from seq 1: gapless,
// each PrevHash the Hash before it, each Hash the suite's seal of the event
// as stored.
func checkChain(e *env, events []repo.AuditEvent) {
	e.t.Helper()
	prev := zeroHash
	for i, ev := range events {
		if ev.Seq != int64(i+1) {
			e.t.Fatalf("event %d has Seq %d, want %d", i, ev.Seq, i+1)
		}
		if !bytes.Equal(ev.PrevHash, prev) {
			e.t.Errorf("event %d: PrevHash %x, want %x", ev.Seq, ev.PrevHash, prev)
		}
		if h := seal(&ev); !bytes.Equal(ev.Hash, h) {
			e.t.Errorf("event %d as stored does not match its hash (a field changed on the way): %+v", ev.Seq, ev)
		}
		prev = ev.Hash
	}
}

func auditCases() []testCase {
	cs := []testCase{
		{"AuditEvents/AppendChain", func(e *env) {
			org := e.newOrg()
			e.head(org.ID, 0, zeroHash)
			var sealed repo.AuditEvent
			sealer := func(ev *repo.AuditEvent) []byte {
				sealed = *ev
				sealed.PrevHash = slices.Clone(ev.PrevHash)
				return seal(ev)
			}
			actors := []repo.ActorType{repo.ActorUser, repo.ActorAPIKey, repo.ActorSystem}
			outcomes := []repo.Outcome{repo.OutcomeSuccess, repo.OutcomeDenied, repo.OutcomeSuccess}
			var want []repo.AuditEvent
			prev := zeroHash
			for i := range 3 {
				in := event(org.ID, func(ev *repo.AuditEvent) {
					ev.ActorType, ev.ActorID, ev.Outcome = actors[i], fmt.Sprintf("actor-%d", i), outcomes[i]
					ev.Action, ev.TargetType, ev.TargetID = fmt.Sprintf("thing.do%d", i), "thing", fmt.Sprint(i)
					ev.Metadata = fmt.Sprintf(`{"i": %d, "nested": {"ok": [true, null]}, "s": "ü\"x"}`, i)
					ev.RemoteAddr, ev.RequestID = "[2001:db8::1]:443", fmt.Sprintf("req-%d", i)
				})
				c := clock()
				got := must(e.db.AuditEvents().Append(e.ctx, in, sealer)).of(e.t)
				if got.Seq != int64(i+1) || sealed.Seq != got.Seq {
					e.t.Fatalf("event %d: Seq %d, sealed with Seq %d; want %d", i, got.Seq, sealed.Seq, i+1)
				}
				if !bytes.Equal(sealed.PrevHash, prev) {
					e.t.Errorf("event %d sealed with PrevHash %x, want %x", got.Seq, sealed.PrevHash, prev)
				}
				if got.ID == uuid.Nil || got.ID.Version() != 7 {
					e.t.Errorf("ID = %v, want a UUIDv7", got.ID)
				}
				c.check(e.t, "OccurredAt", got.OccurredAt)
				// What was sealed is what was stored, hash apart.
				sealed.Hash = seal(&sealed)
				same(e.t, "Append vs sealed", got, sealed)
				in.Seq, in.ID, in.OccurredAt, in.PrevHash, in.Hash = got.Seq, got.ID, got.OccurredAt, prev, got.Hash
				same(e.t, "Append", got, in)
				e.head(org.ID, got.Seq, got.Hash)
				want = append(want, got)
				prev = got.Hash
			}
			got := e.events(org.ID, repo.AuditFilter{})
			same(e.t, "List", got, want)
			checkChain(e, got)
		}},
		{"AuditEvents/AppendDefaults", func(e *env) {
			org := e.newOrg()
			var sealedMeta string
			c := clock()
			got := must(e.db.AuditEvents().Append(e.ctx, event(org.ID), func(ev *repo.AuditEvent) []byte {
				sealedMeta = ev.Metadata
				return seal(ev)
			})).of(e.t)
			c.check(e.t, "OccurredAt", got.OccurredAt)
			if got.Metadata != "{}" || sealedMeta != "{}" {
				e.t.Errorf("Metadata = %q, sealed %q; want {}", got.Metadata, sealedMeta)
			}
			if got.ID == uuid.Nil {
				e.t.Errorf("ID is nil")
			}
			same(e.t, "List", e.events(org.ID, repo.AuditFilter{}), []repo.AuditEvent{got})
		}},
		{"AuditEvents/AppendKeepsIDAndTime", func(e *env) {
			org := e.newOrg()
			id := repo.NewID()
			at := time.Date(2029, 2, 3, 4, 5, 6, 789012345, time.FixedZone("PST", -8*3600))
			got := e.appendEvent(org.ID, func(ev *repo.AuditEvent) { ev.ID, ev.OccurredAt = id, at })
			if got.ID != id {
				e.t.Errorf("ID = %v, want %v", got.ID, id)
			}
			same(e.t, "OccurredAt", got.OccurredAt, repo.Timestamp(at))
			same(e.t, "List", e.events(org.ID, repo.AuditFilter{}), []repo.AuditEvent{got})
			checkChain(e, []repo.AuditEvent{got})
		}},
		{"AuditEvents/AppendInTx", func(e *env) {
			org := e.newOrg()
			var p repo.Project
			var ev repo.AuditEvent
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error {
				var err error
				if p, err = tx.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "audited"}); err != nil {
					return err
				}
				ev, err = tx.AuditEvents().Append(e.ctx, event(org.ID, func(ev *repo.AuditEvent) { ev.TargetID = p.ID.String() }), seal)
				return err
			}))
			same(e.t, "project", e.projects(org.ID), []repo.Project{p})
			same(e.t, "events", e.events(org.ID, repo.AuditFilter{}), []repo.AuditEvent{ev})
			e.head(org.ID, 1, ev.Hash)
		}},
		{"AuditEvents/ReadOwnAppendsInTx", func(e *env) {
			// Appends, then reads in the same transaction (the head, the
			// list, a further append and a project created after them) see
			// the appended events, whatever the adapter does to batch them.
			org, other := e.newOrg(), e.newOrg()
			var evs []repo.AuditEvent
			ok(e.t, e.db.InTx(e.ctx, func(tx repo.Store) error {
				for i, o := range []repo.Org{org, other, org} {
					ev, err := tx.AuditEvents().Append(e.ctx, event(o.ID, func(ev *repo.AuditEvent) { ev.TargetID = fmt.Sprint(i) }), seal)
					if err != nil {
						return err
					}
					evs = append(evs, ev)
				}
				seq, hash, err := tx.AuditEvents().Head(e.ctx, org.ID)
				if err != nil {
					return err
				}
				if seq != 2 || !bytes.Equal(hash, evs[2].Hash) || evs[2].Seq != 2 || !bytes.Equal(evs[2].PrevHash, evs[0].Hash) {
					e.t.Errorf("in the transaction: head %d %x after events %+v", seq, hash, evs)
				}
				page, err := tx.AuditEvents().List(e.ctx, org.ID, repo.AuditFilter{}, repo.PageRequest{Limit: 10})
				if err != nil {
					return err
				}
				same(e.t, "events listed in the transaction", page.Items, []repo.AuditEvent{evs[0], evs[2]})
				_, err = tx.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "after the appends"})
				return err
			}))
			same(e.t, "events", e.events(org.ID, repo.AuditFilter{}), []repo.AuditEvent{evs[0], evs[2]})
			same(e.t, "other org's events", e.events(other.ID, repo.AuditFilter{}), []repo.AuditEvent{evs[1]})
			e.head(org.ID, 2, evs[2].Hash)
			e.head(other.ID, 1, evs[1].Hash)
		}},
		{"AuditEvents/AppendRolledBack", func(e *env) {
			org := e.newOrg()
			first := e.appendEvent(org.ID)
			errBoom := errors.New("boom")
			err := e.db.InTx(e.ctx, func(tx repo.Store) error {
				if _, err := tx.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "undone"}); err != nil {
					return err
				}
				if _, err := tx.AuditEvents().Append(e.ctx, event(org.ID), seal); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				e.t.Fatalf("InTx = %v, want the fn's error", err)
			}
			e.head(org.ID, 1, first.Hash)
			same(e.t, "events", e.events(org.ID, repo.AuditFilter{}), []repo.AuditEvent{first})
			same(e.t, "projects", e.projects(org.ID), []repo.Project{})
			next := e.appendEvent(org.ID)
			if next.Seq != 2 {
				e.t.Errorf("the next event has Seq %d, want 2: a rolled back append consumed a number", next.Seq)
			}
			checkChain(e, e.events(org.ID, repo.AuditFilter{}))
		}},
		{"AuditEvents/ConcurrentAppends", func(e *env) {
			const goroutines, each = 16, 8
			org := e.newOrg()
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*each)
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						errs <- e.db.InTx(e.ctx, func(tx repo.Store) error {
							_, err := tx.AuditEvents().Append(e.ctx, event(org.ID, func(ev *repo.AuditEvent) {
								ev.ActorID, ev.TargetID = fmt.Sprintf("g%d", g), fmt.Sprint(i)
							}), seal)
							return err
						})
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					e.t.Errorf("Append: %v", err)
				}
			}
			events := e.events(org.ID, repo.AuditFilter{})
			if len(events) != goroutines*each {
				e.t.Fatalf("%d events, want %d", len(events), goroutines*each)
			}
			checkChain(e, events)
			seen := map[string]bool{}
			for _, ev := range events {
				k := ev.ActorID + "/" + ev.TargetID
				if seen[k] {
					e.t.Errorf("event %s stored twice", k)
				}
				seen[k] = true
			}
			last := events[len(events)-1]
			e.head(org.ID, last.Seq, last.Hash)
		}},
		{"AuditEvents/SequencesPerOrg", func(e *env) {
			a, b := e.newOrg(), e.newOrg()
			var wantA, wantB []repo.AuditEvent
			for range 2 {
				wantA = append(wantA, e.appendEvent(a.ID))
				wantB = append(wantB, e.appendEvent(b.ID))
			}
			wantA = append(wantA, e.appendEvent(a.ID))
			for _, c := range []struct {
				org  uuid.UUID
				want []repo.AuditEvent
			}{{a.ID, wantA}, {b.ID, wantB}} {
				got := e.events(c.org, repo.AuditFilter{})
				same(e.t, "List", got, c.want)
				checkChain(e, got)
				e.head(c.org, int64(len(c.want)), c.want[len(c.want)-1].Hash)
			}
		}},
		{"AuditEvents/UnknownOrg", func(e *env) {
			e.appendEvent(e.newOrg().ID)
			called := false
			_, err := e.db.AuditEvents().Append(e.ctx, event(repo.NewID()), func(ev *repo.AuditEvent) []byte {
				called = true
				return seal(ev)
			})
			notFound(e.t, err)
			if called {
				e.t.Errorf("the sealer was called for an unknown org")
			}
			_, _, err = e.db.AuditEvents().Head(e.ctx, repo.NewID())
			notFound(e.t, err)
		}},
	}
	return append(cs, auditFilterCases()...)
}

// auditFilterCases checks each AuditFilter on the same six events, whose
// times are chosen so that comparing them as trimmed RFC 3339 text
// ("…05.75Z" > "…05.751Z") would give the wrong answer.
func auditFilterCases() []testCase {
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	at := []time.Time{base, base.Add(750 * time.Millisecond), base.Add(751 * time.Millisecond),
		base.Add(time.Second), base.Add(time.Second + time.Microsecond), base.Add(2 * time.Second)}
	type row struct {
		actor, action, ttype, tid string
		outcome                   repo.Outcome
	}
	rows := []row{
		{"alice", "project.create", "project", "p1", repo.OutcomeSuccess},
		{"bob", "project.update", "project", "p1", repo.OutcomeDenied},
		{"alice", "project.delete", "project", "p2", repo.OutcomeSuccess},
		{"alice", "member.add", "member", "u1", repo.OutcomeSuccess},
		{"bob", "project.create", "project", "p2", repo.OutcomeDenied},
		{"carol", "project.create", "project", "p3", repo.OutcomeSuccess},
	}
	india := time.FixedZone("IST", 5*3600+1800)
	var cs []testCase
	for _, c := range []struct {
		name   string
		filter repo.AuditFilter
		want   []int // indices into rows, ascending
	}{
		{"None", repo.AuditFilter{}, []int{0, 1, 2, 3, 4, 5}},
		{"ActorID", repo.AuditFilter{ActorID: "alice"}, []int{0, 2, 3}},
		{"Action", repo.AuditFilter{Action: "project.create"}, []int{0, 4, 5}},
		{"TargetType", repo.AuditFilter{TargetType: "project"}, []int{0, 1, 2, 4, 5}},
		{"TargetID", repo.AuditFilter{TargetID: "p2"}, []int{2, 4}},
		{"Target", repo.AuditFilter{TargetType: "project", TargetID: "p1"}, []int{0, 1}},
		{"Outcome", repo.AuditFilter{Outcome: repo.OutcomeDenied}, []int{1, 4}},
		{"Since", repo.AuditFilter{Since: at[2]}, []int{2, 3, 4, 5}},
		{"SinceOtherZone", repo.AuditFilter{Since: at[2].In(india)}, []int{2, 3, 4, 5}},
		{"Until", repo.AuditFilter{Until: at[4]}, []int{0, 1, 2, 3}},
		{"SinceUntil", repo.AuditFilter{Since: at[1], Until: at[4]}, []int{1, 2, 3}},
		{"NoMatch", repo.AuditFilter{Since: at[5].Add(time.Microsecond)}, nil},
		{"Combined", repo.AuditFilter{ActorID: "bob", Outcome: repo.OutcomeDenied, Since: at[2]}, []int{4}},
	} {
		cs = append(cs, testCase{"AuditEvents/ListFilter/" + c.name, func(e *env) {
			org, other := e.newOrg(), e.newOrg()
			var events []repo.AuditEvent
			for i, r := range rows {
				events = append(events, e.appendEvent(org.ID, func(ev *repo.AuditEvent) {
					ev.OccurredAt, ev.ActorID, ev.Action, ev.TargetType, ev.TargetID, ev.Outcome = at[i], r.actor, r.action, r.ttype, r.tid, r.outcome
				}))
				// The same event in another org must never show.
				e.appendEvent(other.ID, func(ev *repo.AuditEvent) {
					ev.OccurredAt, ev.ActorID, ev.Action, ev.TargetType, ev.TargetID, ev.Outcome = at[i], r.actor, r.action, r.ttype, r.tid, r.outcome
				})
			}
			want := []repo.AuditEvent{}
			for _, i := range c.want {
				want = append(want, events[i])
			}
			for _, desc := range []bool{false, true} {
				f := c.filter
				f.Descending = desc
				w := want
				if desc {
					w = slices.Clone(want)
					slices.Reverse(w)
				}
				for _, limit := range []int{0, 2} {
					var got []repo.AuditEvent
					for _, p := range pages(e.t, limit, func(p repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
						return e.db.AuditEvents().List(e.ctx, org.ID, f, p)
					}) {
						got = append(got, p.Items...)
					}
					same(e.t, fmt.Sprintf("List(descending=%v, limit=%d)", desc, limit), got, w)
				}
			}
		}})
	}
	return cs
}
