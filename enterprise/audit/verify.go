package audit

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// Checkpoint is a point of a chain: an event's sequence number and hash.
// Seq 0 with an empty or all-zero Hash is the start of every chain.
type Checkpoint struct {
	Seq  int64
	Hash []byte
}

// VerifyOptions tunes Verify and VerifyJSONL. The zero value verifies a whole
// chain from seq 1.
type VerifyOptions struct {
	// From starts verification after a checkpoint: the first event checked
	// must be From.Seq+1 and link to From.Hash. Use the LastSeq and LastHash
	// of an earlier Report to verify only what was appended since, or the
	// checkpoint recorded when older events were removed.
	From Checkpoint
	// Head, when set, is a head recorded earlier somewhere the database's
	// administrators cannot write (an earlier Report, a ticket, a signed
	// log): the chain must reach Head.Seq and have Head.Hash there. It
	// catches a chain rewritten together with its head row, and it is the
	// only way VerifyJSONL can tell that an export lost its tail.
	Head *Checkpoint
	// Progress, when set, is called now and then with the number of events
	// checked so far, e.g. to draw a progress bar.
	Progress func(checked int64)
	// MaxPending bounds how long an event may wait to be sealed: Verify
	// fails (ReasonUnsealed) when the org's oldest event not yet sealed
	// occurred longer ago, since a sealer that stopped, or a queue tampered
	// with, must not pass quietly. 0 means DefaultMaxPending; a negative
	// bound turns the check off. VerifyJSONL ignores it.
	MaxPending time.Duration
}

// DefaultMaxPending is the default of VerifyOptions.MaxPending: a running
// sealer seals events within a fraction of a second.
const DefaultMaxPending = time.Minute

// Reason says why a chain does not verify.
type Reason string

// The reasons a chain breaks. Each names the first sequence number at which
// the chain stops being trustworthy (Report.FirstBad).
const (
	// ReasonHashMismatch: the event links to the one before it, but its hash
	// is not SHA-256 of its previous hash and content: the event was changed
	// after it was sealed.
	ReasonHashMismatch Reason = "hash_mismatch"
	// ReasonPrevHashMismatch: the event's previous hash is not the hash of
	// the event before it: an event was inserted, moved (e.g. two swapped)
	// or rewritten and re-sealed here or just before.
	ReasonPrevHashMismatch Reason = "prev_hash_mismatch"
	// ReasonGap: sequence numbers skip (FirstBad is the first missing one):
	// events were deleted, or the events of an export are out of order.
	ReasonGap Reason = "gap"
	// ReasonOrder: a sequence number repeats or goes backwards (FirstBad is
	// the one expected instead); only an export can show this.
	ReasonOrder Reason = "out_of_order"
	// ReasonMissingTail: the chain ends before the head (the org's recorded
	// head, or VerifyOptions.Head): events were removed from its end.
	ReasonMissingTail Reason = "missing_tail"
	// ReasonHeadMismatch: the event at the head's sequence number does not
	// have the head's hash: the end of the chain was rewritten.
	ReasonHeadMismatch Reason = "head_mismatch"
	// ReasonBeyondHead: events follow the org's recorded head: they were
	// added to the table without going through the chain's head.
	ReasonBeyondHead Reason = "beyond_head"
	// ReasonMalformed: an exported line is not a well-formed event (bad JSON,
	// a hash that is not 64 lower-case hex digits).
	ReasonMalformed Reason = "malformed"
	// ReasonUnsealed: the chain verified, but an event committed longer
	// ago than VerifyOptions.MaxPending is still waiting to be sealed
	// (FirstBad is the seq it would take): no sealer is running, or the
	// queue was tampered with. Report.Backlog names it.
	ReasonUnsealed Reason = "unsealed"
)

// Report is the outcome of a verification.
type Report struct {
	// OK reports that every event checked is intact and linked, and that the
	// chain reaches its head.
	OK bool
	// Events is the number of events checked, the first bad one included.
	Events int64
	// FirstBad is the first sequence number the chain cannot vouch for; 0
	// when OK.
	FirstBad int64
	// Reason and Message say why; both empty when OK.
	Reason  Reason
	Message string
	// LastSeq and LastHash end the part of the chain that verified: on OK the
	// chain's last event, otherwise the event before FirstBad (From when
	// nothing after it verified). Keep them to verify incrementally later
	// (VerifyOptions.From) or as a trusted head (VerifyOptions.Head).
	LastSeq  int64
	LastHash []byte
	// Backlog reports the org's events committed but not yet sealed, which
	// the chain cannot vouch for yet (Verify only).
	Backlog repo.AuditBacklog
}

// String summarizes the report in one line.
func (r Report) String() string {
	if r.OK {
		return fmt.Sprintf("audit chain intact: %d events checked, last seq %d, hash %x%s", r.Events, r.LastSeq, r.LastHash, r.pending())
	}
	return fmt.Sprintf("audit chain broken at seq %d (%s): %s", r.FirstBad, r.Reason, r.Message)
}

// pending describes the backlog for String: nothing when empty.
func (r Report) pending() string {
	if r.Backlog.Pending == 0 {
		return ""
	}
	return fmt.Sprintf("; %d events not yet sealed, the oldest %s old", r.Backlog.Pending,
		time.Since(r.Backlog.OldestTime).Round(time.Millisecond))
}

// errBroken stops streaming once the chain broke; it never leaves the package.
var errBroken = errors.New("audit: chain broken")

// Verify recomputes org's sealed chain in repository events and reports the
// first broken link, then the events not yet sealed (Report.Backlog),
// failing when the oldest waited longer than opts.MaxPending. It streams the chain in ascending pages of repo.MaxPageSize
// events, a few read at once, so its memory stays flat however long the
// chain is. Beyond the
// links it compares the chain's end with the org's recorded head
// (AuditEvents.Head), which is advanced in the same transaction as every
// append: a chain that stops short of it lost its tail.
//
// A broken chain is a Report with OK false, not an error; the error is for
// a chain that could not be read (and the Report then says how far
// verification got). Read the events and the head from one node: a replica
// lagging behind the node that served the events makes a sound chain look
// as if it ran past its head.
func Verify(ctx context.Context, events repo.AuditEvents, orgID uuid.UUID, opts VerifyOptions) (Report, error) {
	c, err := newChain(opts)
	if err != nil {
		return Report{}, err
	}
	head, err := readHead(ctx, events, orgID)
	if err != nil {
		return c.report(), err
	}
	if head.Seq < opts.From.Seq {
		return c.fail(head.Seq+1, ReasonMissingTail,
			"the head is at seq %d, behind the checkpoint at seq %d: events were removed from the tail", head.Seq, opts.From.Seq), nil
	}
	// The chain must reach the head read now and the latest head read
	// again, as the chain grows while it is verified.
	c.anchors = append(c.anchors, head, head)
	latest := &c.anchors[len(c.anchors)-1]

	check := func(page []repo.AuditEvent) error {
		for i := range page {
			ev := &page[i]
			if ev.Seq == c.next && ev.Seq > head.Seq {
				// Appended since the head was read, or added behind its back.
				if head, err = readHead(ctx, events, orgID); err != nil {
					return err
				}
				*latest = head
				if ev.Seq > head.Seq {
					c.rep.Events++
					c.fail(ev.Seq, ReasonBeyondHead,
						"seq %d follows the org's head at seq %d: it was added without advancing the head", ev.Seq, head.Seq)
					return errBroken
				}
			}
			c.buf = appendCanonical(append(c.buf[:0], ev.PrevHash...), ev)
			if !c.add(ev.Seq, ev.PrevHash, ev.Hash, sha256.Sum256(c.buf)) {
				return errBroken
			}
		}
		if opts.Progress != nil {
			opts.Progress(c.rep.Events)
		}
		return nil
	}
	// Read to the end of the chain. If the head was read again after the
	// last page was, and has moved past it, events were appended meanwhile:
	// read on from there (a pass that finds nothing new leaves the tail to
	// finish to judge).
	for from := opts.From.Seq; ; from = c.next - 1 {
		err = chainPages(ctx, events, orgID, from, check)
		if err != nil || c.next-1 >= latest.Seq || c.next-1 == from {
			break
		}
	}
	switch {
	case errors.Is(err, errBroken):
		return c.report(), nil
	case err != nil:
		return c.report(), err
	}
	rep := c.finish()
	if !rep.OK {
		return rep, nil
	}
	if rep.Backlog, err = events.Backlog(ctx, orgID); err != nil {
		return rep, fmt.Errorf("audit: read the events not yet sealed: %w", err)
	}
	bound := cmp.Or(opts.MaxPending, DefaultMaxPending)
	if age := time.Since(rep.Backlog.OldestTime); rep.Backlog.Pending > 0 && bound > 0 && age > bound {
		rep.OK = false
		rep.FirstBad, rep.Reason = rep.LastSeq+1, ReasonUnsealed
		rep.Message = fmt.Sprintf("event %s (%s) has waited %s to be sealed, longer than %s: is a sealer running (strata serve)? "+
			"%d events are waiting", rep.Backlog.OldestID, rep.Backlog.OldestTime.Format(time.RFC3339), age.Round(time.Second), bound, rep.Backlog.Pending)
	}
	return rep, nil
}

// readHead reads org's recorded head.
func readHead(ctx context.Context, events repo.AuditEvents, orgID uuid.UUID) (Checkpoint, error) {
	seq, hash, err := events.Head(ctx, orgID)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("audit: read the chain's head: %w", err)
	}
	return Checkpoint{Seq: seq, Hash: hash}, nil
}

// eachPage calls fn with each page of org's events that filter selects,
// starting after cursor, until the last page or an error from List or fn.
func eachPage(ctx context.Context, events repo.AuditEvents, orgID uuid.UUID, filter repo.AuditFilter, cursor string, fn func([]repo.AuditEvent) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := events.List(ctx, orgID, filter, repo.PageRequest{Limit: repo.MaxPageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("audit: list events: %w", err)
		}
		if err := fn(page.Items); err != nil {
			return err
		}
		if page.Next == "" || len(page.Items) == 0 {
			return nil
		}
		cursor = page.Next
	}
}

// chain checks events one by one against the chain so far.
type chain struct {
	rep     Report
	next    int64          // the sequence number the next event must have
	last    [HashSize]byte // the hash of event next-1
	anchors []Checkpoint   // heads the chain must reach, with their hashes
	buf     []byte         // reused for prev_hash || canonical encoding
}

func newChain(opts VerifyOptions) (*chain, error) {
	from := opts.From
	switch {
	case from.Seq < 0:
		return nil, repo.Invalid("from", "sequence number must not be negative")
	case from.Seq == 0 && len(from.Hash) == 0:
	case len(from.Hash) != HashSize:
		return nil, repo.Invalid("from", "hash must be %d bytes", HashSize)
	case from.Seq == 0 && !bytes.Equal(from.Hash, make([]byte, HashSize)):
		return nil, repo.Invalid("from", "the hash before seq 1 is %d zero bytes", HashSize)
	}
	c := &chain{next: from.Seq + 1, buf: make([]byte, 0, 1024)}
	copy(c.last[:], from.Hash)
	c.rep.LastSeq = from.Seq
	if opts.Head != nil {
		c.anchors = append(c.anchors, *opts.Head)
	}
	return c, nil
}

// add checks the next event, given as its sequence number, stored previous
// hash and hash, and sum, the hash recomputed over its stored previous hash
// and content. It reports whether the chain still holds.
func (c *chain) add(seq int64, prevHash, hash []byte, sum [HashSize]byte) bool {
	c.rep.Events++
	switch {
	case seq < c.next:
		c.fail(c.next, ReasonOrder, "seq %d comes after seq %d: events out of order or duplicated", seq, c.next-1)
		return false
	case seq > c.next:
		c.fail(c.next, ReasonGap, "seq %d comes after seq %d: %s missing (deleted, or the events are out of order)",
			seq, c.next-1, seqRange(c.next, seq-1))
		return false
	case !bytes.Equal(prevHash, c.last[:]):
		c.fail(seq, ReasonPrevHashMismatch,
			"the previous hash of seq %d is not the hash of seq %d: an event was inserted, moved, or rewritten and re-sealed", seq, seq-1)
		return false
	case !bytes.Equal(hash, sum[:]):
		c.fail(seq, ReasonHashMismatch, "the hash of seq %d does not match its content: the event was changed after it was sealed", seq)
		return false
	}
	for _, a := range c.anchors {
		if a.Seq == seq && !bytes.Equal(a.Hash, hash) {
			c.fail(seq, ReasonHeadMismatch, "seq %d has hash %x, but the head records %x: the end of the chain was rewritten", seq, hash, a.Hash)
			return false
		}
	}
	c.next, c.last, c.rep.LastSeq = seq+1, sum, seq
	return true
}

// finish checks the end of the chain against the anchors once every event
// has been added.
func (c *chain) finish() Report {
	for _, a := range c.anchors {
		switch {
		case c.rep.LastSeq < a.Seq:
			return c.fail(c.rep.LastSeq+1, ReasonMissingTail,
				"the chain ends at seq %d, but its head is at seq %d: %s missing", c.rep.LastSeq, a.Seq, seqRange(c.rep.LastSeq+1, a.Seq))
		case c.rep.LastSeq == a.Seq && !bytes.Equal(c.last[:], a.Hash) && (a.Seq > 0 || !isZero(a.Hash)):
			return c.fail(a.Seq, ReasonHeadMismatch, "seq %d has hash %x, but the head records %x", a.Seq, c.last, a.Hash)
		}
	}
	c.rep.OK = true
	return c.report()
}

// fail records why the chain broke at seq and returns the report.
func (c *chain) fail(seq int64, reason Reason, format string, args ...any) Report {
	c.rep.FirstBad, c.rep.Reason, c.rep.Message = seq, reason, fmt.Sprintf(format, args...)
	return c.report()
}

func (c *chain) report() Report {
	r := c.rep
	r.LastHash = bytes.Clone(c.last[:])
	return r
}

// seqRange describes the sequence numbers from through to.
func seqRange(from, to int64) string {
	if from == to {
		return "seq " + strconv.FormatInt(from, 10) + " is"
	}
	return fmt.Sprintf("seq %d to %d are", from, to)
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// decodeHash decodes a hash written as 64 lower-case hex digits, the only
// form exports use.
func decodeHash(s string, dst *[HashSize]byte) bool {
	if len(s) != 2*HashSize {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	_, err := hex.Decode(dst[:], []byte(s))
	return err == nil
}
