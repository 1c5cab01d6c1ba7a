package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/repo"
)

// DefaultImportBatch is the number of rows per batch of ImportProjects when
// ImportOptions.BatchSize is 0.
const DefaultImportBatch = 10000

// MaxImportLine bounds one line of a JSONL import (a row holds at most
// 2,200 characters, escaped up to six bytes each).
const MaxImportLine = 64 << 10

// ImportOptions tune ImportProjects. The zero value reads JSONL in batches
// of DefaultImportBatch rows.
type ImportOptions struct {
	// Format is JSONL (the default: one {"name":...,"description":...}
	// object per line) or CSV (a header row naming the columns name and,
	// optionally, description; then one row per project).
	Format ExportFormat
	// BatchSize is the number of rows per batch: per transaction, per bulk
	// insert and per audit event. 0 means DefaultImportBatch.
	BatchSize int
	// Skip skips the first Skip rows of the input (after a CSV header):
	// to resume an import that failed after committing that many rows.
	Skip int64
	// Parallel is the number of batches written at once, each on its own
	// connection (commits stay in order); 0 means DefaultImportParallel.
	// On SQLite, whose one writer takes batches in turn, it is always 1.
	Parallel int
	// DryRun reads and checks every row without writing anything.
	DryRun bool
	// Progress, when set, is called after each batch with the rows
	// imported (or, in a dry run, checked) so far.
	Progress func(rows int64)
}

// ImportResult says what ImportProjects did, also when it failed: the rows
// imported are those of the batches that committed, from the first row read.
type ImportResult struct {
	Rows    int64 // rows imported (or, in a dry run, checked)
	Batches int   // batches committed
}

// ImportProjects creates the org's projects read from r (projects.create),
// streaming: memory holds Parallel+2 batches at most, whatever the input's
// size. The rows are read and checked on one goroutine while earlier
// batches are written (see writeBatches). Each batch is checked whole before
// it is written (repo.ValidateImport), then written in one transaction with
// one bulk insert (repo.Projects.Import: COPY on PostgreSQL, one INSERT over
// json_each on SQLite) and one audit event, "project.import", whose
// metadata holds the count, the first and last names and the rows' numbers
// in the input.
// A bad row (malformed, invalid, a name that repeats or is taken) stops the
// import with a *repo.RowError naming the row, counted from 1 in the input
// (JSONL: its line; CSV: the record after the header); its batch writes
// nothing, and the batches before it stay committed (see ImportResult and
// ImportOptions.Skip).
//
// p is a member acting through a key, or System for a command run with the
// database's credentials, which is not subject to RBAC (as Bootstrap).
func (s *Service) ImportProjects(ctx context.Context, p Principal, slug string, r io.Reader, opts ImportOptions) (ImportResult, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultImportBatch
	}
	next, err := rowReader(r, opts.Format)
	if err != nil {
		return ImportResult{}, err
	}
	a := action{name: "project.import", perm: rbac.ProjectsCreate, targetType: "project"}
	var org repo.Org
	if p.system {
		org, err = s.orgBySlug(security(ctx), slug)
	} else {
		org, err = s.org(ctx, p, slug)
		if err == nil {
			err = s.authorize(ctx, p, org, a)
		}
	}
	if err != nil {
		return ImportResult{}, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan batch, 1) // one read ahead while others are written
	go readBatches(ctx, next, opts, batches)
	if opts.DryRun {
		var res ImportResult
		for b := range batches {
			if b.err != nil {
				return res, b.err
			}
			res.Rows += int64(len(b.rows))
			res.Batches++
			if opts.Progress != nil {
				opts.Progress(res.Rows)
			}
		}
		return res, ctx.Err()
	}
	return s.writeBatches(ctx, p, org, a, batches, opts)
}

// DefaultImportParallel is the number of batches ImportProjects writes at
// once when ImportOptions.Parallel is 0.
const DefaultImportParallel = 2

// job is one batch to write, with the outcome of the batch before it, which
// must commit first.
type job struct {
	b         batch
	seq       int
	prev, out *outcome
}

// outcome is how a batch's transaction ended: err is set before done closes.
type outcome struct {
	done chan struct{}
	err  error
	rows int64
}

// errPrevFailed ends a batch whose predecessor failed: it rolls back, and
// the predecessor's error is the one reported.
var errPrevFailed = errors.New("service: an earlier batch failed")

// writeBatches writes the batches opts.Parallel at a time, each in its own
// transaction on its own connection (on PostgreSQL the bulk inserts run in
// parallel; SQLite's one writer takes them in turn), committing them in
// order: a batch whose bulk insert is done waits for the one before it to
// commit, and rolls back if it failed. So the batches committed are always
// the first ones, and the audit chain holds their events in order.
func (s *Service) writeBatches(ctx context.Context, p Principal, org repo.Org, a action, batches <-chan batch, opts ImportOptions) (ImportResult, error) {
	workers := opts.Parallel
	if workers <= 0 {
		workers = DefaultImportParallel
	}
	if d, ok := s.store.(interface{ Dialect() repo.Dialect }); ok && d.Dialect() == repo.SQLite {
		// SQLite's one writer takes the batches in turn whatever the
		// parallelism, and commits transactions that queue for it together
		// (see sqliterepo): a batch waiting inside its transaction for the
		// one before would hold up that one's commit.
		workers = 1
	}
	jobs := make(chan job)
	for range workers {
		go func() {
			for j := range jobs {
				j.out.err = s.importBatch(ctx, p, org, a, j.b, j.seq, j.prev)
				close(j.out.done)
			}
		}()
	}
	var (
		res     ImportResult
		pending []*outcome // dispatched, not yet accounted for, in order
		prev    *outcome
		readErr error
	)
	// account takes the finished batches at the head of pending into res,
	// waiting for them when wait is set; it returns the first failure.
	account := func(wait bool) error {
		for len(pending) > 0 {
			o := pending[0]
			if wait {
				<-o.done
			}
			select {
			case <-o.done:
			default:
				return nil
			}
			if o.err != nil {
				return o.err
			}
			pending = pending[1:]
			res.Rows += o.rows
			res.Batches++
			if opts.Progress != nil {
				opts.Progress(res.Rows)
			}
		}
		return nil
	}
	var err error
	for b := range batches {
		if b.err != nil {
			readErr = b.err
			break
		}
		o := &outcome{done: make(chan struct{}), rows: int64(len(b.rows))}
		select {
		case jobs <- job{b: b, seq: res.Batches + len(pending) + 1, prev: prev, out: o}:
			pending, prev = append(pending, o), o
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if err = account(false); err != nil {
			break
		}
	}
	close(jobs)
	if err == nil {
		err = account(true)
	}
	if err != nil {
		for _, o := range pending { // they roll back on their own (errPrevFailed)
			<-o.done
		}
		return res, err
	}
	if readErr != nil {
		return res, readErr
	}
	return res, ctx.Err()
}

// importBatch writes one batch and its audit event in one transaction,
// committing only after prev (the batch before, nil for none) committed.
// It waits for prev after its bulk insert, holding its locks; should prev
// take long (it may be waiting for a lock this batch holds, through a
// concurrent import of the same names), it rolls back, waits for prev
// outside any transaction and starts again.
func (s *Service) importBatch(ctx context.Context, p Principal, org repo.Org, a action, b batch, seq int, prev *outcome) error {
	const minPatience = time.Second
	errYield := errors.New("service: yield to the batch before")
	for {
		err := s.inOrgTx(ctx, s.store, p, org, a, once{}, func(tx repo.Store, org repo.Org) (change, error) {
			start := time.Now()
			if _, err := tx.Projects().Import(ctx, org.ID, b.rows); err != nil {
				return change{}, repo.ShiftRows(err, b.first-1)
			}
			if prev != nil {
				t := time.NewTimer(max(2*time.Since(start), minPatience))
				defer t.Stop()
				select {
				case <-prev.done:
				case <-t.C:
					return change{}, errYield
				case <-ctx.Done():
					return change{}, ctx.Err()
				}
				if prev.err != nil {
					return change{}, errPrevFailed
				}
			}
			return change{meta: map[string]any{
				"batch": seq, "count": len(b.rows),
				"first_row": b.first, "last_row": b.first + int64(len(b.rows)) - 1,
				"first": b.rows[0].Name, "last": b.rows[len(b.rows)-1].Name,
			}}, nil
		})
		if !errors.Is(err, errYield) {
			return err
		}
		select {
		case <-prev.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if prev.err != nil {
			return errPrevFailed
		}
		prev = nil
	}
}

// batch is a run of rows read and checked, the first being row first of the
// input; or the error that ended the reading.
type batch struct {
	first int64
	rows  []repo.NewProject
	err   error
}

// readBatches reads rows with next, checks them a batch at a time and sends
// the batches, then closes out. It stops at the first error (sent as the
// last batch) or when ctx ends.
func readBatches(ctx context.Context, next func() (repo.NewProject, error), opts ImportOptions, out chan<- batch) {
	defer close(out)
	send := func(b batch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// flush checks b whole and sends it, or its first bad row.
	flush := func(b batch) bool {
		if err := repo.ValidateImport(b.rows); err != nil {
			send(batch{err: repo.ShiftRows(err, b.first-1)})
			return false
		}
		return send(b)
	}
	var row int64 // rows read
	b := batch{first: 1}
	for {
		in, err := next()
		if err == io.EOF {
			break
		}
		row++
		if err != nil {
			send(batch{err: &repo.RowError{Row: row, Err: err}})
			return
		}
		if row <= opts.Skip {
			b.first = row + 1
			continue
		}
		b.rows = append(b.rows, in)
		if len(b.rows) == opts.BatchSize {
			if !flush(b) {
				return
			}
			b = batch{first: row + 1, rows: make([]repo.NewProject, 0, opts.BatchSize)}
		}
	}
	if len(b.rows) > 0 {
		flush(b)
	}
}

// rowReader returns a function that reads the next row of r in the format,
// io.EOF at the end.
func rowReader(r io.Reader, format ExportFormat) (func() (repo.NewProject, error), error) {
	switch format {
	case JSONL, "":
		return jsonlRows(r), nil
	case CSV:
		return csvRows(r)
	}
	return nil, repo.Invalid("format", "must be jsonl or csv")
}

// jsonRow is one row of a JSONL import.
type jsonRow struct {
	Name        *string `json:"name"`
	Description string  `json:"description"`
}

func jsonlRows(r io.Reader) func() (repo.NewProject, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var line []byte
	return func() (repo.NewProject, error) {
		var err error
		line, err = readImportLine(br, line[:0])
		if err == io.EOF && len(line) == 0 {
			return repo.NewProject{}, io.EOF
		}
		if err != nil && err != io.EOF {
			return repo.NewProject{}, err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if in, ok := parseRow(line); ok {
			return in, nil
		}
		return decodeRow(line)
	}
}

// decodeRow decodes one JSONL row with encoding/json, strictly: one object
// with the keys name (required) and description, nothing else.
func decodeRow(line []byte) (repo.NewProject, error) {
	var row jsonRow
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&row); err != nil {
		return repo.NewProject{}, repo.Invalid("json", "want one object {\"name\":...,\"description\":...} per line: %v", err)
	}
	if dec.More() {
		return repo.NewProject{}, repo.Invalid("json", "want one object per line")
	}
	if row.Name == nil {
		return repo.NewProject{}, repo.Invalid("name", "is missing")
	}
	return repo.NewProject{Name: *row.Name, Description: row.Description}, nil
}

// parseRow is decodeRow's fast path, for the rows of every import: an
// object of string values under the keys name and description, each at
// most once, name present. It gives up (ok false) on anything else (null,
// other keys or types, a string that is not valid UTF-8), and decodeRow
// then decides, so the two agree on every line (FuzzParseRow checks).
func parseRow(line []byte) (in repo.NewProject, ok bool) {
	p := rowParser{b: line}
	if !p.byte('{') {
		return in, false
	}
	var haveName, haveDesc bool
	for first := true; ; first = false {
		p.space()
		if p.byte('}') {
			break
		}
		if !first && !p.byte(',') {
			return in, false
		}
		key, ok := p.str()
		if !ok || !p.byte(':') {
			return in, false
		}
		val, ok := p.str()
		switch {
		case !ok:
			return in, false
		case key == "name" && !haveName:
			in.Name, haveName = val, true
		case key == "description" && !haveDesc:
			in.Description, haveDesc = val, true
		default:
			return in, false
		}
	}
	p.space()
	return in, haveName && p.i == len(p.b)
}

// rowParser reads JSON tokens from b.
type rowParser struct {
	b []byte
	i int
}

// space skips JSON whitespace.
func (p *rowParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// byte skips whitespace and then c, reporting whether c was there.
func (p *rowParser) byte(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string: without escapes directly, with escapes through
// encoding/json. A control character, or text that is not valid UTF-8, is
// not ok.
func (p *rowParser) str() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	start, escaped := p.i, false
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !utf8.Valid(raw) {
				return "", false
			}
			if !escaped {
				return string(raw), true
			}
			var s string
			err := json.Unmarshal(p.b[start-1:p.i], &s)
			return s, err == nil
		case c == '\\':
			escaped = true
			p.i++ // the escaped character is never the closing quote
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// readImportLine appends the next line of br, "\n" included, to buf,
// refusing one longer than MaxImportLine.
func readImportLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxImportLine {
			return buf, repo.Invalid("json", "line longer than %d bytes", MaxImportLine)
		}
		if err != bufio.ErrBufferFull {
			return buf, err
		}
	}
}

func csvRows(r io.Reader) (func() (repo.NewProject, error), error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return func() (repo.NewProject, error) { return repo.NewProject{}, io.EOF }, nil
	}
	if err != nil {
		return nil, repo.Invalid("csv", "reading the header: %v", err)
	}
	name, desc := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "name":
			name = i
		case "description":
			desc = i
		default:
			return nil, repo.Invalid("csv", "unknown column %q (want name and description)", h)
		}
	}
	if name < 0 {
		return nil, repo.Invalid("csv", "the header has no column name")
	}
	return func() (repo.NewProject, error) {
		rec, err := cr.Read()
		if err == io.EOF {
			return repo.NewProject{}, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return repo.NewProject{}, repo.Invalid("csv", "%v", pe.Err)
		}
		if err != nil {
			return repo.NewProject{}, err
		}
		in := repo.NewProject{Name: rec[name]}
		if desc >= 0 {
			in.Description = rec[desc]
		}
		return in, nil
	}, nil
}
