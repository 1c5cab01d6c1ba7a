package auditrow

import (
	"time"

	"github.com/strata-go/strata/repo"
)

// BlockSize is the number of events each row of audit_blocks summarizes:
// block k holds the events k*BlockSize+1 to (k+1)*BlockSize of a chain.
const BlockSize = 1024

// Span is the time range of a block's events.
type Span struct{ Min, Max time.Time }

// Block is a completed block: its number and time range.
type Block struct {
	Number int64
	Span
}

// Head is an org's chain head as a sealer sees it: the chain's number,
// its last sequence number and hash, and the time range of the block being
// filled (nil when the last block is complete).
type Head struct {
	Chain int64
	Seq   int64
	Hash  []byte
	Block *Span
}

// Seal seals ev as the next event of the chain (its Seq, PrevHash and
// Hash), moves h to it, and returns the block it completes, if any. h is
// changed only on success; its Block is replaced, never modified, so that
// a copy of h taken before stays as it was.
func (h *Head) Seal(ev *repo.AuditEvent, seal repo.Sealer) (*Block, error) {
	ev.Seq, ev.PrevHash = h.Seq+1, h.Hash
	if err := repo.Seal(ev, seal); err != nil {
		return nil, err
	}
	span := Span{ev.OccurredAt, ev.OccurredAt}
	if h.Block != nil {
		span = Span{minTime(h.Block.Min, ev.OccurredAt), maxTime(h.Block.Max, ev.OccurredAt)}
	}
	h.Seq, h.Hash, h.Block = ev.Seq, ev.Hash, &span
	if ev.Seq%BlockSize != 0 {
		return nil, nil
	}
	h.Block = nil
	return &Block{Number: (ev.Seq - 1) / BlockSize, Span: span}, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
