package audit_test

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/repo"
)

// verify runs audit.Verify on m and fails the test on an error.
func verify(t *testing.T, m *memChain, opts audit.VerifyOptions) audit.Report {
	t.Helper()
	r, err := audit.Verify(t.Context(), m, m.org, opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

// wantBroken checks that r reports the chain broken at seq for reason, with
// everything before seq verified.
func wantBroken(t *testing.T, r audit.Report, seq int64, reason audit.Reason) {
	t.Helper()
	if r.OK || r.FirstBad != seq || r.Reason != reason || r.Message == "" {
		t.Fatalf("report %+v\nwant broken at seq %d with %s", r, seq, reason)
	}
	if r.LastSeq != seq-1 {
		t.Errorf("LastSeq = %d, want %d", r.LastSeq, seq-1)
	}
}

func wantOK(t *testing.T, r audit.Report, events int64, head audit.Checkpoint) {
	t.Helper()
	if !r.OK || r.Events != events || r.LastSeq != head.Seq || !bytes.Equal(r.LastHash, head.Hash) || r.FirstBad != 0 || r.Reason != "" {
		t.Fatalf("report %+v\nwant OK after %d events at seq %d, hash %x", r, events, head.Seq, head.Hash)
	}
}

func TestVerifyIntact(t *testing.T) {
	m := buildChain(t, 1234)
	var progress []int64
	r := verify(t, m, audit.VerifyOptions{Progress: func(n int64) { progress = append(progress, n) }})
	wantOK(t, r, 1234, m.head)
	if want := pageEnds(1234); !slices.Equal(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}
	for _, l := range m.limits {
		if l != repo.MaxPageSize {
			t.Errorf("List asked for %d events, want pages of repo.MaxPageSize", l)
		}
	}
	if got := r.String(); got == "" || !r.OK {
		t.Errorf("String() = %q", got)
	}
}

func TestVerifyEmpty(t *testing.T) {
	m := newMemChain()
	wantOK(t, verify(t, m, audit.VerifyOptions{}), 0, m.head)
}

// TestVerifyTamper breaks a 1,200-event chain in every way an attacker with
// write access to the table could, and checks that Verify names the first
// bad sequence number and the reason.
func TestVerifyTamper(t *testing.T) {
	const n = 1200
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, m *memChain)
		opts   func(original audit.Checkpoint) audit.VerifyOptions
		seq    int64
		reason audit.Reason
	}{
		{"changed target", func(t *testing.T, m *memChain) { m.at(t, 700).TargetID = "p-9" }, nil, 700, audit.ReasonHashMismatch},
		{"changed actor", func(t *testing.T, m *memChain) { m.at(t, 1).ActorID = "root" }, nil, 1, audit.ReasonHashMismatch},
		{"changed metadata", func(t *testing.T, m *memChain) { m.at(t, 502).Metadata = `{}` }, nil, 502, audit.ReasonHashMismatch},
		{"changed outcome", func(t *testing.T, m *memChain) { m.at(t, 3).Outcome = repo.OutcomeSuccess }, nil, 3, audit.ReasonHashMismatch},
		{"changed time by 1µs", func(t *testing.T, m *memChain) {
			ev := m.at(t, 999)
			ev.OccurredAt = ev.OccurredAt.Add(1000)
		}, nil, 999, audit.ReasonHashMismatch},
		{"changed hash", func(t *testing.T, m *memChain) { m.at(t, 10).Hash[0] ^= 1 }, nil, 10, audit.ReasonHashMismatch},
		{"changed and re-sealed", func(t *testing.T, m *memChain) {
			ev := m.at(t, 250)
			ev.Action = "project.read"
			ev.Hash = audit.Seal(ev)
		}, nil, 251, audit.ReasonPrevHashMismatch},
		{"deleted event", func(t *testing.T, m *memChain) { m.rows = slices.Delete(m.rows, 599, 600) }, nil, 600, audit.ReasonGap},
		{"deleted first event", func(t *testing.T, m *memChain) { m.rows = m.rows[1:] }, nil, 1, audit.ReasonGap},
		{"deleted range across pages", func(t *testing.T, m *memChain) { m.rows = slices.Delete(m.rows, 480, 530) }, nil, 481, audit.ReasonGap},
		{"swapped", func(t *testing.T, m *memChain) { swapSeq(t, m, 300, 900) }, nil, 300, audit.ReasonPrevHashMismatch},
		{"swapped across a page boundary", func(t *testing.T, m *memChain) { swapSeq(t, m, 500, 501) }, nil, 500, audit.ReasonPrevHashMismatch},
		{"inserted forgery", func(t *testing.T, m *memChain) { insert(t, m, 400, false) }, nil, 400, audit.ReasonHashMismatch},
		{"inserted well-sealed forgery", func(t *testing.T, m *memChain) { insert(t, m, 400, true) }, nil, 401, audit.ReasonPrevHashMismatch},
		{"truncated tail", func(t *testing.T, m *memChain) { m.rows = m.rows[:n-10] }, nil, n - 9, audit.ReasonMissingTail},
		{"truncated to nothing", func(t *testing.T, m *memChain) { m.rows = nil }, nil, 1, audit.ReasonMissingTail},
		{"rewritten tail", func(t *testing.T, m *memChain) {
			ev := m.at(t, n)
			ev.TargetID = "p-0"
			ev.Hash = audit.Seal(ev)
		}, nil, n, audit.ReasonHeadMismatch},
		{"appended past the head", func(t *testing.T, m *memChain) {
			head := m.head
			if _, err := m.Append(t.Context(), sample(m.org, 0), audit.Seal); err != nil {
				t.Fatal(err)
			}
			m.head = head
		}, nil, n + 1, audit.ReasonBeyondHead},
		{"truncated tail with the head lowered, against a trusted head", func(t *testing.T, m *memChain) {
			m.rows = m.rows[:n-10]
			last := m.rows[len(m.rows)-1]
			m.head = audit.Checkpoint{Seq: last.Seq, Hash: last.Hash}
		}, trustedHead, n - 9, audit.ReasonMissingTail},
		{"re-sealed from seq 800 with the head, against a trusted head", func(t *testing.T, m *memChain) {
			m.at(t, 800).RequestID = "forged"
			prev := m.at(t, 799).Hash
			for i := 799; i < n; i++ {
				m.rows[i].PrevHash = prev
				m.rows[i].Hash = audit.Seal(&m.rows[i])
				prev = m.rows[i].Hash
			}
			m.head = audit.Checkpoint{Seq: n, Hash: prev}
		}, trustedHead, n, audit.ReasonHeadMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := buildChain(t, n)
			original := m.head
			tc.tamper(t, m)
			var opts audit.VerifyOptions
			if tc.opts != nil {
				opts = tc.opts(original)
			}
			wantBroken(t, verify(t, m, opts), tc.seq, tc.reason)
		})
	}
}

func trustedHead(original audit.Checkpoint) audit.VerifyOptions {
	return audit.VerifyOptions{Head: &original}
}

// swapSeq exchanges the positions of the events at seq a and b, as
// exchanging their seq values in the table would.
func swapSeq(t *testing.T, m *memChain, a, b int64) {
	ea, eb := m.at(t, a), m.at(t, b)
	ea.Seq, eb.Seq = b, a
	m.resort()
}

// insert puts a forged event at seq, moving every later event up by one, as
// an attacker inserting a row in the middle of the chain must. A sealed
// forgery links to the event before it and hashes correctly; an unsealed one
// carries a copied hash.
func insert(t *testing.T, m *memChain, seq int64, sealed bool) {
	prev := m.at(t, seq-1)
	forged := sample(m.org, 0)
	forged.ID, forged.OccurredAt, forged.Seq = repo.NewID(), prev.OccurredAt, seq
	forged.PrevHash = prev.Hash
	forged.Hash = prev.Hash
	if sealed {
		forged.Hash = audit.Seal(&forged)
	}
	for i := range m.rows {
		if m.rows[i].Seq >= seq {
			m.rows[i].Seq++
		}
	}
	m.rows = append(m.rows, forged)
	m.resort()
}

// TestVerifyFrom verifies incrementally: only what was appended after an
// earlier report's end.
func TestVerifyFrom(t *testing.T) {
	m := buildChain(t, 600)
	first := verify(t, m, audit.VerifyOptions{})
	for i := 600; i < 1300; i++ {
		if _, err := m.Append(t.Context(), sample(m.org, i), audit.Seal); err != nil {
			t.Fatal(err)
		}
	}
	from := audit.Checkpoint{Seq: first.LastSeq, Hash: first.LastHash}
	wantOK(t, verify(t, m, audit.VerifyOptions{From: from}), 700, m.head)

	// Nothing new: still OK, and the checkpoint must be the head.
	wantOK(t, verify(t, m, audit.VerifyOptions{From: m.head}), 0, m.head)
	wrongHead := audit.Checkpoint{Seq: m.head.Seq, Hash: bytes.Repeat([]byte{7}, 32)}
	r := verify(t, m, audit.VerifyOptions{From: wrongHead})
	if r.OK || r.FirstBad != m.head.Seq || r.Reason != audit.ReasonHeadMismatch {
		t.Errorf("report %+v, want head mismatch at seq %d", r, m.head.Seq)
	}

	// A checkpoint that is not on the chain.
	wrong := audit.Checkpoint{Seq: 600, Hash: bytes.Repeat([]byte{1}, 32)}
	wantBroken(t, verify(t, m, audit.VerifyOptions{From: wrong}), 601, audit.ReasonPrevHashMismatch)

	// A checkpoint past the head: the chain lost events since it was taken.
	m.rows, m.head = m.rows[:500], audit.Checkpoint{Seq: 500, Hash: m.rows[499].Hash}
	r = verify(t, m, audit.VerifyOptions{From: from})
	if r.OK || r.FirstBad != 501 || r.Reason != audit.ReasonMissingTail {
		t.Errorf("report %+v, want missing tail from seq 501", r)
	}

	// Events removed before the checkpoint do not matter.
	m = buildChain(t, 1000)
	cut := m.rows[299]
	m.rows = m.rows[300:]
	wantOK(t, verify(t, m, audit.VerifyOptions{From: audit.Checkpoint{Seq: cut.Seq, Hash: cut.Hash}}), 700, m.head)
}

func TestVerifyBadOptions(t *testing.T) {
	m := buildChain(t, 3)
	for _, from := range []audit.Checkpoint{
		{Seq: -1},
		{Seq: 2, Hash: []byte{1, 2, 3}},
		{Seq: 2},
		{Seq: 0, Hash: bytes.Repeat([]byte{1}, 32)},
	} {
		_, err := audit.Verify(t.Context(), m, m.org, audit.VerifyOptions{From: from})
		if !errors.Is(err, repo.ErrInvalid) || repo.FieldOf(err) != "from" {
			t.Errorf("From %+v: err = %v, want ErrInvalid naming from", from, err)
		}
	}
}

func TestVerifyErrors(t *testing.T) {
	m := buildChain(t, 10)
	_, err := audit.Verify(t.Context(), m, repo.NewID(), audit.VerifyOptions{})
	if !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("unknown org: err = %v, want ErrNotFound", err)
	}
	m.listErr = &repo.Error{Kind: repo.ErrUnavailable, Message: "database is down"}
	r, err := audit.Verify(t.Context(), m, m.org, audit.VerifyOptions{})
	if !errors.Is(err, repo.ErrUnavailable) || r.OK {
		t.Errorf("List failing: report %+v, err = %v, want ErrUnavailable", r, err)
	}
}

// TestVerifyConcurrentAppends appends while verification runs (300 events
// at the start of each of the first 6 page reads): the events appended after
// the head was read are verified too, against the head read again, and the
// chain is not taken for one that runs past its head, nor for one that lost
// its tail.
func TestVerifyConcurrentAppends(t *testing.T) {
	m := buildChain(t, 1000)
	var mu sync.Mutex
	i, lists := 1000, 0
	m.onList = func() {
		mu.Lock()
		defer mu.Unlock()
		if lists++; lists > 6 {
			return
		}
		for range 300 {
			if _, err := m.Append(t.Context(), sample(m.org, i), audit.Seal); err != nil {
				t.Error(err)
			}
			i++
		}
	}
	r := verify(t, m, audit.VerifyOptions{})
	if !r.OK || r.LastSeq <= 1000 || r.LastSeq != m.head.Seq {
		t.Fatalf("report %+v, want OK up to the head at seq %d", r, m.head.Seq)
	}
	if m.heads > 10 {
		t.Errorf("%d Head calls: the head is read again only when the chain passes it", m.heads)
	}
}

// TestVerifyMemoryFlat verifies a chain of 300,000 generated events and
// checks that the live heap stays flat: Verify holds one page, not the chain.
func TestVerifyMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 300,000 events")
	}
	g := newGenChain(300_000)
	var ms runtime.MemStats
	heap := func() uint64 {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	start, peak := heap(), uint64(0)
	r, err := audit.Verify(t.Context(), g, g.org, audit.VerifyOptions{Progress: func(n int64) {
		if n%(50*repo.MaxPageSize) == 0 {
			peak = max(peak, heap())
		}
	}})
	if err != nil || !r.OK || r.Events != g.n {
		t.Fatalf("report %+v, err %v", r, err)
	}
	// 300,000 events held in memory would take well over 100 MiB.
	if grown := int64(peak) - int64(start); grown > 8<<20 {
		t.Errorf("live heap grew by %d KiB while verifying", grown>>10)
	}
}
