package audit

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/strata-go/strata/repo"
)

// ExportOptions selects and reports on an export. The zero value exports the
// whole chain, oldest first: the form VerifyJSONL and FORMAT.md's script
// verify as a chain.
type ExportOptions struct {
	// Filter selects the events. A filter can leave gaps (even time bounds
	// can: events commit in seq order, not quite in time order), and
	// Descending reverses the order. Every exported event still carries its
	// hashes, but an export verifies as a chain only where it is contiguous
	// and ascending (from a first event after seq 1: see VerifyOptions.From).
	Filter repo.AuditFilter
	// Progress, when set, is called after each page with the number of
	// events written so far, e.g. to draw a progress bar.
	Progress func(written int64)
}

// columns are the fields of an exported event, in order: the header of CSV,
// and the JSON keys of JSONL, where an event of format 2 adds "format"
// first and "api_key_id" after "request_id" (an event of format 1 has
// neither, as before format 2 existed).
var columns = [...]string{
	"org_id", "seq", "id", "occurred_at", "actor_type", "actor_id", "action",
	"target_type", "target_id", "outcome", "metadata", "remote_addr", "request_id",
	"prev_hash", "hash", "api_key_id", "format",
}

// exported is one event as an export writes it: every field in its canonical
// text form (hashes in lower-case hex), metadata as a JSON string holding the
// stored text byte for byte.
type exported struct {
	Format     int     `json:"format,omitempty"` // 0 for format 1
	OrgID      string  `json:"org_id"`
	Seq        int64   `json:"seq"`
	ID         string  `json:"id"`
	OccurredAt string  `json:"occurred_at"`
	ActorType  string  `json:"actor_type"`
	ActorID    string  `json:"actor_id"`
	Action     string  `json:"action"`
	TargetType string  `json:"target_type"`
	TargetID   string  `json:"target_id"`
	Outcome    string  `json:"outcome"`
	Metadata   string  `json:"metadata"`
	RemoteAddr string  `json:"remote_addr"`
	RequestID  string  `json:"request_id"`
	APIKeyID   *string `json:"api_key_id,omitempty"` // nil for format 1
	PrevHash   string  `json:"prev_hash"`
	Hash       string  `json:"hash"`
}

func toExported(ev *repo.AuditEvent) (exported, error) {
	x := exported{
		OrgID: ev.OrgID.String(), Seq: ev.Seq, ID: ev.ID.String(), OccurredAt: ev.OccurredAt.UTC().Format(TimeLayout),
		ActorType: string(ev.ActorType), ActorID: ev.ActorID, Action: ev.Action,
		TargetType: ev.TargetType, TargetID: ev.TargetID, Outcome: string(ev.Outcome),
		Metadata: ev.Metadata, RemoteAddr: ev.RemoteAddr, RequestID: ev.RequestID,
		PrevHash: hex.EncodeToString(ev.PrevHash), Hash: hex.EncodeToString(ev.Hash),
	}
	if ev.Format >= 2 {
		key := apiKeyText(ev.APIKeyID)
		x.Format, x.APIKeyID = ev.Format, &key
	}
	// JSON and CSV writers replace invalid UTF-8, which would make the
	// export disagree with the hash; Record refuses such text, but an event
	// appended some other way may hold it.
	for i, s := range x.strings() {
		if !utf8.ValidString(s) {
			return exported{}, fmt.Errorf("audit: seq %d: %s is not valid UTF-8 and cannot be exported as stored", ev.Seq, columns[i])
		}
	}
	return x, nil
}

// format returns the event's format: 1 when the export names none.
func (x *exported) format() int { return max(x.Format, 1) }

// strings returns the fields in column order.
func (x *exported) strings() [len(columns)]string {
	var key string
	if x.APIKeyID != nil {
		key = *x.APIKeyID
	}
	return [...]string{
		x.OrgID, strconv.FormatInt(x.Seq, 10), x.ID, x.OccurredAt, x.ActorType, x.ActorID, x.Action,
		x.TargetType, x.TargetID, x.Outcome, x.Metadata, x.RemoteAddr, x.RequestID,
		x.PrevHash, x.Hash, key, strconv.Itoa(x.format()),
	}
}

// appendCanonical appends the canonical encoding of the exported event:
// its fields of its format, exactly as written.
func (x *exported) appendCanonical(dst []byte) []byte {
	dst = appendField(dst, x.OrgID)
	dst, at := beginField(dst)
	dst = endField(strconv.AppendInt(dst, x.Seq, 10), at)
	for _, s := range [...]string{
		x.ID, x.OccurredAt, x.ActorType, x.ActorID, x.Action, x.TargetType,
		x.TargetID, x.Outcome, x.Metadata, x.RemoteAddr, x.RequestID,
	} {
		dst = appendField(dst, s)
	}
	if x.format() >= 2 {
		var key string
		if x.APIKeyID != nil {
			key = *x.APIKeyID
		}
		dst = appendField(dst, key)
	}
	return dst
}

// ExportJSONL writes org's sealed events to w as JSON Lines: one JSON object
// per event and line, with the keys org_id, seq, id, occurred_at,
// actor_type, actor_id, action, target_type, target_id, outcome, metadata,
// remote_addr, request_id, prev_hash and hash, and for events of format 2
// also format (first) and api_key_id (after request_id): see FORMAT.md.
// Events not yet sealed are not exported. Metadata is a JSON string
// holding the stored JSON text, so that the hashed bytes can be recovered
// exactly; hashes are lower-case hex. It streams page by page in constant
// memory and returns the number of events written. An export of the whole
// chain verifies on its own, with VerifyJSONL or FORMAT.md's script.
func ExportJSONL(ctx context.Context, w io.Writer, events repo.AuditEvents, orgID uuid.UUID, opts ExportOptions) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	return export(ctx, events, orgID, opts, func(x *exported) error { return enc.Encode(x) }, bw.Flush)
}

// ExportCSV writes org's sealed events to w as CSV (RFC 4180, as
// encoding/csv writes it): a header row with the column names of
// ExportJSONL (api_key_id and format last), then one row per event with the
// same text in the same order (format 1 events have an empty api_key_id).
// It streams page by page in constant memory and returns the number of
// events written.
//
// CSV is for reading, not for proof: encoding/csv readers turn a carriage
// return before a newline inside a field into a bare newline, so metadata
// holding "\r\n" does not hash back. Verify JSONL exports instead. Cells are
// written as stored, and actor, target, metadata, address and request ID can
// hold caller-supplied text: a spreadsheet may take a cell starting with
// "=", "+", "-" or "@" for a formula.
func ExportCSV(ctx context.Context, w io.Writer, events repo.AuditEvents, orgID uuid.UUID, opts ExportOptions) (int64, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(columns[:]); err != nil {
		return 0, err
	}
	write := func(x *exported) error {
		row := x.strings()
		return cw.Write(row[:])
	}
	flush := func() error {
		cw.Flush()
		return cw.Error()
	}
	return export(ctx, events, orgID, opts, write, flush)
}

// export streams the selected events through write, flushing after each page.
func export(ctx context.Context, events repo.AuditEvents, orgID uuid.UUID, opts ExportOptions,
	write func(*exported) error, flush func() error) (int64, error) {
	var n int64
	err := eachPage(ctx, events, orgID, opts.Filter, "", func(page []repo.AuditEvent) error {
		for i := range page {
			x, err := toExported(&page[i])
			if err != nil {
				return err
			}
			if err := write(&x); err != nil {
				return err
			}
			n++
		}
		if err := flush(); err != nil {
			return err
		}
		if opts.Progress != nil {
			opts.Progress(n)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, flush()
}

// MaxLineSize bounds the length of one line of a JSONL export that
// VerifyJSONL reads, so that a hostile file cannot make it hold gigabytes.
const MaxLineSize = 16 << 20

// readLine appends the next line of br, its "\n" included, to buf, reading
// no further than MaxLineSize+1 bytes into a line that is longer.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err != bufio.ErrBufferFull || len(buf) > MaxLineSize {
			return buf, err
		}
	}
}

// VerifyJSONL verifies an export written by ExportJSONL on its own, without
// the database: it reads r line by line in constant memory, recomputes every
// hash over the exported text and checks every link, exactly as FORMAT.md's
// script does. Every line must hold one event (blank lines and lines longer
// than MaxLineSize are malformed). The stream must start at seq 1, or after
// opts.From. Without
// opts.Head it cannot tell an export that lost its last events from a
// complete one: compare the Report's LastSeq and LastHash with a head you
// trust, or pass that head as opts.Head.
//
// A tampered or malformed export is a Report with OK false; the error is for
// a reader that fails.
func VerifyJSONL(ctx context.Context, r io.Reader, opts VerifyOptions) (Report, error) {
	c, err := newChain(opts)
	if err != nil {
		return Report{}, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	var prev, hash [HashSize]byte
	for {
		line, err = readLine(br, line[:0])
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return c.report(), fmt.Errorf("audit: read export: %w", err)
		}
		var x exported
		if len(line) > MaxLineSize {
			err = fmt.Errorf("longer than %d bytes", MaxLineSize)
		} else {
			err = json.Unmarshal(line, &x)
		}
		if err != nil {
			c.rep.Events++
			return c.fail(c.next, ReasonMalformed, "line %d of the export is not an event: %v", c.rep.Events, err), nil
		}
		if !decodeHash(x.PrevHash, &prev) || !decodeHash(x.Hash, &hash) {
			c.rep.Events++
			return c.fail(c.next, ReasonMalformed, "seq %d: prev_hash and hash must be %d lower-case hex digits", x.Seq, 2*HashSize), nil
		}
		if f := x.format(); f > repo.AuditFormat || (f >= 2) != (x.APIKeyID != nil) {
			c.rep.Events++
			return c.fail(c.next, ReasonMalformed,
				"seq %d: format %d unknown, or not matching the fields (format 2 has an api_key_id, format 1 none)", x.Seq, f), nil
		}
		c.buf = x.appendCanonical(append(c.buf[:0], prev[:]...))
		if !c.add(x.Seq, prev[:], hash[:], sha256.Sum256(c.buf)) {
			return c.report(), nil
		}
		if c.rep.Events%repo.MaxPageSize == 0 {
			if err := ctx.Err(); err != nil {
				return c.report(), err
			}
			if opts.Progress != nil {
				opts.Progress(c.rep.Events)
			}
		}
	}
	if opts.Progress != nil && (c.rep.Events%repo.MaxPageSize != 0 || c.rep.Events == 0) {
		opts.Progress(c.rep.Events)
	}
	return c.finish(), nil
}
