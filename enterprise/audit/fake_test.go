package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/repo"
)

// memChain is an in-memory repo.AuditEvents holding one org's chain the way
// the database does: rows kept in seq order (the primary key) and a head row
// beside them. Tests tamper with rows and head directly, as an attacker with
// database access could.
type memChain struct {
	mu      sync.Mutex // Verify lists pages concurrently
	org     uuid.UUID
	rows    []repo.AuditEvent // sorted by Seq
	head    audit.Checkpoint
	limits  []int  // the Limit of every List call
	onList  func() // runs at the start of every List call
	listErr error  // returned by List when set
	heads   int    // Head calls so far
	// backlog is what Backlog reports: events the chain does not hold yet.
	backlog repo.AuditBacklog
}

func newMemChain() *memChain {
	return &memChain{org: repo.NewID(), head: audit.Checkpoint{Hash: make([]byte, audit.HashSize)}}
}

var _ repo.AuditEvents = (*memChain)(nil)

func (m *memChain) Append(_ context.Context, ev repo.AuditEvent, seal repo.Sealer) (repo.AuditEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ev.OrgID != m.org {
		return repo.AuditEvent{}, repo.NotFound("org")
	}
	if err := repo.PrepareAuditEvent(&ev); err != nil {
		return repo.AuditEvent{}, err
	}
	ev.Seq, ev.PrevHash = m.head.Seq+1, bytes.Clone(m.head.Hash)
	ev.Hash = seal(&ev)
	m.rows = append(m.rows, ev)
	m.head = audit.Checkpoint{Seq: ev.Seq, Hash: ev.Hash}
	return ev, nil
}

// SealPending has nothing to seal: Append seals, as SQLite's writer does.
func (m *memChain) SealPending(context.Context, repo.Sealer) (repo.SealReport, error) {
	return repo.SealReport{SealedAt: time.Now()}, nil
}

func (m *memChain) Backlog(context.Context, uuid.UUID) (repo.AuditBacklog, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.backlog, nil
}

func (m *memChain) Head(_ context.Context, orgID uuid.UUID) (int64, []byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heads++
	if orgID != m.org {
		return 0, nil, repo.NotFound("org")
	}
	return m.head.Seq, bytes.Clone(m.head.Hash), nil
}

func (m *memChain) List(_ context.Context, orgID uuid.UUID, f repo.AuditFilter, page repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
	if m.onList != nil {
		m.onList()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listErr != nil {
		return repo.Page[repo.AuditEvent]{}, m.listErr
	}
	m.limits = append(m.limits, page.Limit)
	size, cursor, err := repo.AuditPage(f, page)
	if err != nil || orgID != m.org {
		return repo.Page[repo.AuditEvent]{}, err
	}
	var out []repo.AuditEvent
	take := func(ev repo.AuditEvent) bool {
		if matches(f, ev) {
			out = append(out, ev)
		}
		return len(out) <= size
	}
	if f.Descending {
		for i := sort.Search(len(m.rows), func(i int) bool { return m.rows[i].Seq >= cursor }) - 1; i >= 0 && take(m.rows[i]); i-- {
		}
	} else {
		for i := sort.Search(len(m.rows), func(i int) bool { return m.rows[i].Seq > cursor }); i < len(m.rows) && take(m.rows[i]); i++ {
		}
	}
	return repo.MakePage("audit_events", out, size, func(ev repo.AuditEvent) string { return strconv.FormatInt(ev.Seq, 10) }), nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func matches(f repo.AuditFilter, ev repo.AuditEvent) bool {
	return (f.ActorID == "" || f.ActorID == ev.ActorID) && (f.Action == "" || f.Action == ev.Action) &&
		(f.TargetType == "" || f.TargetType == ev.TargetType) && (f.TargetID == "" || f.TargetID == ev.TargetID) &&
		(f.Outcome == "" || f.Outcome == ev.Outcome) &&
		(f.Since.IsZero() || !ev.OccurredAt.Before(f.Since)) && (f.Until.IsZero() || ev.OccurredAt.Before(f.Until))
}

// resort restores seq order after a tamper changed seq numbers.
func (m *memChain) resort() {
	slices.SortStableFunc(m.rows, func(a, b repo.AuditEvent) int { return cmpInt(a.Seq, b.Seq) })
}

// at returns a pointer to the row with seq, which must exist.
func (m *memChain) at(t testing.TB, seq int64) *repo.AuditEvent {
	t.Helper()
	for i := range m.rows {
		if m.rows[i].Seq == seq {
			return &m.rows[i]
		}
	}
	t.Fatalf("no row with seq %d", seq)
	return nil
}

// base is the time of the first event of a built chain.
var base = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// sample returns the i-th event of a built chain: varied enough to exercise
// the encoding (quotes, newlines, non-ASCII, HTML characters in metadata,
// empty fields, both outcomes and all actor types).
func sample(org uuid.UUID, i int) repo.AuditEvent {
	actors := [...]repo.ActorType{repo.ActorUser, repo.ActorAPIKey, repo.ActorSystem}
	actions := [...]string{"project.create", "project.update", "role_binding.delete", "api_key.revoke"}
	ev := repo.AuditEvent{
		OrgID:      org,
		OccurredAt: base.Add(time.Duration(i) * 1001 * time.Microsecond),
		ActorType:  actors[i%len(actors)],
		ActorID:    fmt.Sprintf("actor-%d", i%7),
		Action:     actions[i%len(actions)],
		TargetType: "project",
		TargetID:   fmt.Sprintf("p-%d", i),
		Outcome:    repo.OutcomeSuccess,
		RemoteAddr: "203.0.113." + strconv.Itoa(i%256),
		RequestID:  "req-" + strconv.Itoa(i),
	}
	switch i % 5 {
	case 1:
		ev.Metadata = `{"after":{"name":"Zürich \"HQ\"\n<b>&</b>"},"before":{"name":"日本"}}`
	case 2:
		ev.Metadata = "{ \"spaced\" : [1, 2.50, true, null],\t\"sep\":\"\u2028\" }"
		ev.Outcome = repo.OutcomeDenied
	case 3:
		ev.TargetType, ev.TargetID, ev.RemoteAddr, ev.RequestID = "", "", "", ""
	}
	if i%3 == 0 {
		ev.APIKeyID = uuid.UUID{0: 0x01, 6: 0x70, 8: 0x80, 15: byte(i)}
	}
	return ev
}

// buildChain returns a chain of n sample events, appended with audit.Seal.
func buildChain(t testing.TB, n int) *memChain {
	t.Helper()
	m := newMemChain()
	m.rows = make([]repo.AuditEvent, 0, n)
	for i := range n {
		if _, err := m.Append(context.Background(), sample(m.org, i), audit.Seal); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// buildMixedChain returns a chain of n sample events whose first v1 are of
// format 1 (as events recorded before format 2 existed), the rest appended
// with audit.Seal (format 2).
func buildMixedChain(t testing.TB, n, v1 int) *memChain {
	t.Helper()
	m := newMemChain()
	for i := range v1 {
		ev := sample(m.org, i)
		if err := repo.PrepareAuditEvent(&ev); err != nil {
			t.Fatal(err)
		}
		ev.Format, ev.APIKeyID = 1, uuid.Nil
		ev.Seq, ev.PrevHash = m.head.Seq+1, bytes.Clone(m.head.Hash)
		ev.Hash = audit.Seal(&ev)
		m.rows = append(m.rows, ev)
		m.head = audit.Checkpoint{Seq: ev.Seq, Hash: ev.Hash}
	}
	for i := v1; i < n; i++ {
		if _, err := m.Append(context.Background(), sample(m.org, i), audit.Seal); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// genChain is a repo.AuditEvents that stores only its n events' hashes: it
// generates the events themselves while they are listed, so that a test
// can watch the memory a verification holds on to.
type genChain struct {
	org      uuid.UUID
	n        int64
	hashes   [][audit.HashSize]byte // hashes[i] is event i+1's
	metadata string
}

func newGenChain(n int64) *genChain {
	g := &genChain{org: repo.NewID(), n: n, hashes: make([][audit.HashSize]byte, n),
		metadata: `{"after":{"name":"apollo"},"before":{"name":"gemini"}}`}
	for seq := int64(1); seq <= n; seq++ {
		g.hashes[seq-1] = [audit.HashSize]byte(g.event(seq).Hash)
	}
	return g
}

// hash returns the hash of event seq (all zero for seq 0).
func (g *genChain) hash(seq int64) []byte {
	if seq == 0 {
		return make([]byte, audit.HashSize)
	}
	return g.hashes[seq-1][:]
}

// event generates event seq, linked to the hash of seq-1 (which must be
// known).
func (g *genChain) event(seq int64) repo.AuditEvent {
	prev := g.hash(seq - 1)
	ev := repo.AuditEvent{
		OrgID: g.org, Seq: seq, ID: uuid.UUID{15: byte(seq), 14: byte(seq >> 8), 13: byte(seq >> 16)},
		OccurredAt: base.Add(time.Duration(seq) * time.Millisecond), ActorType: repo.ActorUser,
		ActorID: "u-1", Action: "project.update", TargetType: "project", TargetID: strconv.FormatInt(seq, 10),
		Outcome: repo.OutcomeSuccess, Metadata: g.metadata, PrevHash: prev,
	}
	ev.Hash = audit.Seal(&ev)
	return ev
}

func (g *genChain) Append(context.Context, repo.AuditEvent, repo.Sealer) (repo.AuditEvent, error) {
	panic("genChain is read-only")
}

func (g *genChain) SealPending(context.Context, repo.Sealer) (repo.SealReport, error) {
	panic("genChain is read-only")
}

func (g *genChain) Backlog(context.Context, uuid.UUID) (repo.AuditBacklog, error) {
	return repo.AuditBacklog{}, nil
}

func (g *genChain) Head(context.Context, uuid.UUID) (int64, []byte, error) {
	return g.n, g.hash(g.n), nil
}

func (g *genChain) List(_ context.Context, _ uuid.UUID, f repo.AuditFilter, page repo.PageRequest) (repo.Page[repo.AuditEvent], error) {
	size, cursor, err := repo.AuditPage(f, page)
	if err != nil {
		return repo.Page[repo.AuditEvent]{}, err
	}
	if f.Descending || f != (repo.AuditFilter{}) {
		return repo.Page[repo.AuditEvent]{}, fmt.Errorf("genChain lists all events in ascending order only")
	}
	var rows []repo.AuditEvent
	for seq := cursor + 1; seq <= g.n && len(rows) <= size; seq++ {
		rows = append(rows, g.event(seq))
	}
	return repo.MakePage("audit_events", rows, size, func(ev repo.AuditEvent) string { return strconv.FormatInt(ev.Seq, 10) }), nil
}
