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

// recordingSealer is the suite's sealer, keeping a copy of every event it
// sealed, by ID.
type recordingSealer struct {
	mu     sync.Mutex
	sealed map[uuid.UUID][]repo.AuditEvent
}

func (r *recordingSealer) seal(ev *repo.AuditEvent) []byte {
	c := *ev
	c.PrevHash = slices.Clone(ev.PrevHash)
	c.Hash = seal(&c)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sealed == nil {
		r.sealed = map[uuid.UUID][]repo.AuditEvent{}
	}
	r.sealed[ev.ID] = append(r.sealed[ev.ID], c)
	return c.Hash
}

// sealAllWith seals every pending event with seal.
func (e *env) sealAllWith(seal repo.Sealer) {
	e.t.Helper()
	for {
		rep := must(e.db.AuditEvents().SealPending(e.ctx, seal)).of(e.t)
		if len(rep.Sealed) == 0 && !rep.More {
			return
		}
	}
}

// unsealedOrSealed checks what Append returned: the event unsealed (Seq 0,
// no hashes), or sealed as event seq of its chain; it returns whether it
// was sealed.
func unsealedOrSealed(e *env, got repo.AuditEvent, seq int64) bool {
	e.t.Helper()
	switch {
	case got.Seq == 0 && got.PrevHash == nil && got.Hash == nil:
		return false
	case got.Seq == seq && len(got.PrevHash) == repo.HashLen && bytes.Equal(got.Hash, seal(&got)):
		return true
	}
	e.t.Errorf("Append returned %+v: neither unsealed nor sealed as seq %d", got, seq)
	return false
}

func auditCases() []testCase {
	cs := []testCase{
		{"AuditEvents/AppendThenSeal", func(e *env) {
			// Each event is sealed once, with the content it was appended
			// with, in the order of the appends; the chain lists them so.
			org := e.newOrg()
			e.head(org.ID, 0, zeroHash)
			var rec recordingSealer
			actors := []repo.ActorType{repo.ActorUser, repo.ActorAPIKey, repo.ActorSystem}
			outcomes := []repo.Outcome{repo.OutcomeSuccess, repo.OutcomeDenied, repo.OutcomeSuccess}
			keys := []uuid.UUID{repo.NewID(), uuid.Nil, repo.NewID()}
			var appended []repo.AuditEvent
			for i := range 3 {
				in := event(org.ID, func(ev *repo.AuditEvent) {
					ev.ActorType, ev.ActorID, ev.Outcome, ev.APIKeyID = actors[i], fmt.Sprintf("actor-%d", i), outcomes[i], keys[i]
					ev.Action, ev.TargetType, ev.TargetID = fmt.Sprintf("thing.do%d", i), "thing", fmt.Sprint(i)
					ev.Metadata = fmt.Sprintf(`{"i": %d, "nested": {"ok": [true, null]}, "s": "ü\"x"}`, i)
					ev.RemoteAddr, ev.RequestID = "[2001:db8::1]:443", fmt.Sprintf("req-%d", i)
				})
				c := clock()
				got := must(e.db.AuditEvents().Append(e.ctx, in, rec.seal)).of(e.t)
				unsealedOrSealed(e, got, int64(i+1))
				if got.ID == uuid.Nil || got.ID.Version() != 7 {
					e.t.Errorf("ID = %v, want a UUIDv7", got.ID)
				}
				c.check(e.t, "OccurredAt", got.OccurredAt)
				in.ID, in.OccurredAt, in.Format = got.ID, got.OccurredAt, repo.AuditFormat
				in.Seq, in.PrevHash, in.Hash = got.Seq, got.PrevHash, got.Hash
				same(e.t, "Append", got, in)
				appended = append(appended, in)
			}
			e.sealAllWith(rec.seal)
			got := e.events(org.ID, repo.AuditFilter{})
			if len(got) != len(appended) {
				e.t.Fatalf("%d events sealed, want %d", len(got), len(appended))
			}
			prev := zeroHash
			for i, ev := range got {
				want := appended[i]
				want.Seq, want.PrevHash, want.Hash = int64(i+1), prev, ev.Hash
				same(e.t, fmt.Sprintf("event %d", i+1), ev, want)
				if s := rec.sealed[ev.ID]; len(s) != 1 {
					e.t.Errorf("event %d sealed %d times, want once", i+1, len(s))
				} else {
					// What was sealed is what was stored.
					same(e.t, fmt.Sprintf("event %d as sealed", i+1), ev, s[0])
				}
				prev = ev.Hash
			}
			checkChain(e, got)
			e.head(org.ID, 3, got[2].Hash)
		}},
		{"AuditEvents/AppendDefaults", func(e *env) {
			org := e.newOrg()
			c := clock()
			got := must(e.db.AuditEvents().Append(e.ctx, event(org.ID), seal)).of(e.t)
			c.check(e.t, "OccurredAt", got.OccurredAt)
			if got.Metadata != "{}" || got.ID == uuid.Nil || got.Format != repo.AuditFormat {
				e.t.Errorf("Metadata %q, ID %v, Format %d; want {}, a new ID, %d", got.Metadata, got.ID, got.Format, repo.AuditFormat)
			}
			e.sealAll()
			stored := e.sealed(org.ID, got.ID)[0]
			if stored.Metadata != "{}" || stored.Format != repo.AuditFormat {
				e.t.Errorf("stored Metadata %q, Format %d", stored.Metadata, stored.Format)
			}
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
			e.sealAll()
			same(e.t, "project", e.projects(org.ID), []repo.Project{p})
			events := e.events(org.ID, repo.AuditFilter{})
			if len(events) != 1 || events[0].ID != ev.ID || events[0].TargetID != p.ID.String() {
				e.t.Fatalf("events %+v, want the one appended", events)
			}
			e.head(org.ID, 1, events[0].Hash)
		}},
		{"AuditEvents/ReadOwnAppendsInTx", func(e *env) {
			// Appends, then reads in the same transaction (the head, the
			// list, a further append and a project created after them): the
			// list shows sealed events only, up to the head, whether or not
			// the adapter seals in the transaction. After the commit every
			// event is sealed once, in order.
			org, other := e.newOrg(), e.newOrg()
			before := e.appendEvent(org.ID)
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
				page, err := tx.AuditEvents().List(e.ctx, org.ID, repo.AuditFilter{}, repo.PageRequest{Limit: 10})
				if err != nil {
					return err
				}
				if n := len(page.Items); n == 0 || page.Items[0].ID != before.ID || page.Items[n-1].Seq != seq || !bytes.Equal(page.Items[n-1].Hash, hash) {
					e.t.Errorf("in the transaction: head %d %x, events %+v", seq, hash, page.Items)
				} else if seq > 1 {
					same(e.t, "own events sealed in the transaction", page.Items[1:], []repo.AuditEvent{evs[0], evs[2]})
				}
				_, err = tx.Projects().Create(e.ctx, org.ID, repo.NewProject{Name: "after the appends"})
				return err
			}))
			e.sealAll()
			got := e.events(org.ID, repo.AuditFilter{})
			if len(got) != 3 || got[0].ID != before.ID || got[1].ID != evs[0].ID || got[2].ID != evs[2].ID {
				e.t.Errorf("events %+v, want the one before, then 0 and 2", got)
			}
			checkChain(e, got)
			e.head(org.ID, 3, got[2].Hash)
			if o := e.events(other.ID, repo.AuditFilter{}); len(o) != 1 || o[0].ID != evs[1].ID {
				e.t.Errorf("other org's events %+v", o)
			}
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
			e.sealAll()
			e.head(org.ID, 1, first.Hash)
			same(e.t, "events", e.events(org.ID, repo.AuditFilter{}), []repo.AuditEvent{first})
			same(e.t, "projects", e.projects(org.ID), []repo.Project{})
			same(e.t, "backlog", must(e.db.AuditEvents().Backlog(e.ctx, org.ID)).of(e.t), repo.AuditBacklog{})
			next := e.appendEvent(org.ID)
			if next.Seq != 2 {
				e.t.Errorf("the next event has Seq %d, want 2: a rolled back append consumed a number", next.Seq)
			}
			checkChain(e, e.events(org.ID, repo.AuditFilter{}))
		}},
		{"AuditEvents/ConcurrentAppendsAndSealers", func(e *env) {
			// 16 goroutines append while two sealers seal: every event is
			// sealed once, the chain gapless.
			const goroutines, each = 16, 8
			org := e.newOrg()
			var rec recordingSealer
			var wg, sealers sync.WaitGroup
			errs := make(chan error, goroutines*each)
			done := make(chan struct{})
			for range 2 {
				sealers.Go(func() {
					for {
						select {
						case <-done:
							return
						default:
						}
						if _, err := e.db.AuditEvents().SealPending(e.ctx, rec.seal); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						errs <- e.db.InTx(e.ctx, func(tx repo.Store) error {
							_, err := tx.AuditEvents().Append(e.ctx, event(org.ID, func(ev *repo.AuditEvent) {
								ev.ActorID, ev.TargetID = fmt.Sprintf("g%d", g), fmt.Sprint(i)
							}), rec.seal)
							return err
						})
					}
				})
			}
			wg.Wait()
			close(done)
			sealers.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					e.t.Errorf("Append or SealPending: %v", err)
				}
			}
			e.sealAllWith(rec.seal)
			events := e.events(org.ID, repo.AuditFilter{})
			if len(events) != goroutines*each {
				e.t.Fatalf("%d events, want %d", len(events), goroutines*each)
			}
			checkChain(e, events)
			seen := map[string]bool{}
			for _, ev := range events {
				k := ev.ActorID + "/" + ev.TargetID
				if seen[k] || len(rec.sealed[ev.ID]) != 1 {
					e.t.Errorf("event %s stored twice or sealed %d times", k, len(rec.sealed[ev.ID]))
				}
				seen[k] = true
			}
			last := events[len(events)-1]
			e.head(org.ID, last.Seq, last.Hash)
		}},
		{"AuditEvents/Backlog", func(e *env) {
			// Events committed and not yet sealed are counted, the oldest
			// named; sealing empties the backlog, and sealing again seals
			// nothing.
			a, b := e.newOrg(), e.newOrg()
			var first repo.AuditEvent
			for i := range 3 {
				ev := must(e.db.AuditEvents().Append(e.ctx, event(a.ID), seal)).of(e.t)
				if i == 0 {
					first = ev
				}
			}
			must(e.db.AuditEvents().Append(e.ctx, event(b.ID), seal)).of(e.t)
			backlog := must(e.db.AuditEvents().Backlog(e.ctx, a.ID)).of(e.t)
			all := must(e.db.AuditEvents().Backlog(e.ctx, uuid.Nil)).of(e.t)
			switch {
			case backlog == (repo.AuditBacklog{}) && all == (repo.AuditBacklog{}):
				// sealed as they were appended
			case backlog.Pending != 3 || backlog.OldestID != first.ID || backlog.OldestOrg != a.ID || !backlog.OldestTime.Equal(first.OccurredAt):
				e.t.Errorf("Backlog(a) = %+v, want 3 events, the oldest %v at %v", backlog, first.ID, first.OccurredAt)
			case all.Pending != 4 || all.OldestID != first.ID:
				e.t.Errorf("Backlog(all) = %+v, want 4 events, the oldest %v", all, first.ID)
			}
			e.sealAll()
			for _, org := range []uuid.UUID{a.ID, b.ID, uuid.Nil} {
				same(e.t, "backlog after sealing", must(e.db.AuditEvents().Backlog(e.ctx, org)).of(e.t), repo.AuditBacklog{})
			}
			h, _, err := e.db.AuditEvents().Head(e.ctx, a.ID)
			ok(e.t, err)
			rep := must(e.db.AuditEvents().SealPending(e.ctx, seal)).of(e.t)
			if len(rep.Sealed) != 0 || rep.More {
				e.t.Errorf("SealPending with nothing pending = %+v", rep)
			}
			e.head(a.ID, h, e.events(a.ID, repo.AuditFilter{})[2].Hash)
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
			e.sealAll()
			if called {
				e.t.Errorf("the sealer was called for an unknown org")
			}
			same(e.t, "backlog", must(e.db.AuditEvents().Backlog(e.ctx, uuid.Nil)).of(e.t), repo.AuditBacklog{})
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
