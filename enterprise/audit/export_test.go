package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/repo"
)

// columns are the keys of an exported event of format 1, in order, and
// columns2 those of format 2.
var (
	columns = []string{
		"org_id", "seq", "id", "occurred_at", "actor_type", "actor_id", "action",
		"target_type", "target_id", "outcome", "metadata", "remote_addr", "request_id",
		"prev_hash", "hash",
	}
	columns2 = slices.Concat([]string{"format"}, columns[:13], []string{"api_key_id"}, columns[13:])
)

// exportFunc is ExportJSONL or ExportCSV.
type exportFunc func(context.Context, io.Writer, repo.AuditEvents, uuid.UUID, audit.ExportOptions) (int64, error)

var exports = map[string]exportFunc{"JSONL": audit.ExportJSONL, "CSV": audit.ExportCSV}

// exportAll exports m's whole chain and checks the count it returns and its
// progress reports: one per page, the last at the total.
func exportAll(t *testing.T, export exportFunc, m *memChain) string {
	t.Helper()
	var buf bytes.Buffer
	var progress []int64
	n, err := export(t.Context(), &buf, m, m.org, audit.ExportOptions{Progress: func(n int64) { progress = append(progress, n) }})
	if err != nil || n != int64(len(m.rows)) {
		t.Fatalf("export = %d, %v; want %d events", n, err, len(m.rows))
	}
	if want := pageEnds(n); !slices.Equal(progress, want) {
		t.Errorf("progress %v, want %v", progress, want)
	}
	return buf.String()
}

// pageEnds returns the number of events done after each page of a chain of n.
func pageEnds(n int64) []int64 {
	var ends []int64
	for i := int64(repo.MaxPageSize); i < n; i += repo.MaxPageSize {
		ends = append(ends, i)
	}
	return append(ends, n)
}

// exportJSONL exports m's whole chain and returns the lines, each with its "\n".
func exportJSONL(t *testing.T, m *memChain) []string {
	t.Helper()
	lines := strings.SplitAfter(exportAll(t, audit.ExportJSONL, m), "\n")
	return lines[:len(lines)-1] // after the last "\n"
}

// verifyLines runs audit.VerifyJSONL over lines.
func verifyLines(t *testing.T, lines []string, opts audit.VerifyOptions) audit.Report {
	t.Helper()
	r, err := audit.VerifyJSONL(t.Context(), strings.NewReader(strings.Join(lines, "")), opts)
	if err != nil {
		t.Fatalf("VerifyJSONL: %v", err)
	}
	return r
}

// event is the exported form of one event, decoded.
type event map[string]any

func decodeLine(t *testing.T, line string) event {
	t.Helper()
	var ev event
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func encodeLine(t *testing.T, ev event) string {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

func TestExportJSONLRoundTrip(t *testing.T) {
	m := buildMixedChain(t, 1234, 200)
	export := exportAll(t, audit.ExportJSONL, m)

	// One object per line, keys in the documented order of the event's
	// format, values as stored.
	sc := bufio.NewScanner(strings.NewReader(export))
	sc.Buffer(nil, 1<<20)
	i := 0
	for ; sc.Scan(); i++ {
		ev, stored := decodeLine(t, sc.Text()), m.rows[i]
		want, key := columns2, apiKeyText(stored.APIKeyID)
		if stored.Format == 1 {
			want, key = columns, nil
		}
		if keys := keysOf(t, sc.Bytes()); !slices.Equal(keys, want) {
			t.Fatalf("line %d keys %v, want %v", i+1, keys, want)
		}
		if ev["metadata"] != stored.Metadata || ev["seq"] != float64(stored.Seq) || ev["id"] != stored.ID.String() ||
			ev["hash"] != hex.EncodeToString(stored.Hash) || ev["prev_hash"] != hex.EncodeToString(stored.PrevHash) ||
			ev["occurred_at"] != stored.OccurredAt.Format(audit.TimeLayout) || ev["org_id"] != m.org.String() ||
			ev["api_key_id"] != key {
			t.Fatalf("line %d = %v\nstored %+v", i+1, ev, stored)
		}
	}
	if i != 1234 {
		t.Fatalf("%d lines, want 1234", i)
	}

	var vprogress []int64
	r, err := audit.VerifyJSONL(t.Context(), strings.NewReader(export), audit.VerifyOptions{Progress: func(n int64) { vprogress = append(vprogress, n) }})
	if err != nil {
		t.Fatal(err)
	}
	wantOK(t, r, 1234, m.head)
	if want := pageEnds(1234); !slices.Equal(vprogress, want) {
		t.Errorf("progress %v, want %v", vprogress, want)
	}
	// Against the head it was exported at.
	wantOK(t, verifyLines(t, []string{export}, audit.VerifyOptions{Head: &m.head}), 1234, m.head)
}

// keysOf returns the keys of the JSON object in line, in order.
func keysOf(t *testing.T, line []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestVerifyJSONLTamper edits an export the ways one could and checks that
// VerifyJSONL names the first bad sequence number.
func TestVerifyJSONLTamper(t *testing.T) {
	m := buildChain(t, 1200)
	clean := exportJSONL(t, m)
	edit := func(seq int, field string, value any) func(t *testing.T, lines []string) []string {
		return func(t *testing.T, lines []string) []string {
			ev := decodeLine(t, lines[seq-1])
			ev[field] = value
			lines[seq-1] = encodeLine(t, ev)
			return lines
		}
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, lines []string) []string
		head   *audit.Checkpoint
		seq    int64
		reason audit.Reason
	}{
		{"changed action", edit(700, "action", "project.read"), nil, 700, audit.ReasonHashMismatch},
		{"changed metadata formatting", edit(2, "metadata", `{"after":{"name":"Zürich \"HQ\"\n<b>&</b>"}, "before":{"name":"日本"}}`), nil, 2, audit.ReasonHashMismatch},
		{"changed time form", edit(5, "occurred_at", "2025-03-04T05:06:07.004004+00:00"), nil, 5, audit.ReasonHashMismatch},
		{"changed prev_hash", edit(9, "prev_hash", strings.Repeat("ab", 32)), nil, 9, audit.ReasonPrevHashMismatch},
		{"deleted line", func(_ *testing.T, l []string) []string { return slices.Delete(l, 599, 600) }, nil, 600, audit.ReasonGap},
		{"swapped lines", func(_ *testing.T, l []string) []string { l[299], l[899] = l[899], l[299]; return l }, nil, 300, audit.ReasonGap},
		{"duplicated line", func(_ *testing.T, l []string) []string { return slices.Insert(l, 10, l[9]) }, nil, 11, audit.ReasonOrder},
		{"truncated, against the head", func(_ *testing.T, l []string) []string { return l[:1190] }, &m.head, 1191, audit.ReasonMissingTail},
		{"cut mid-line", func(_ *testing.T, l []string) []string { l[1199] = l[1199][:40]; return l }, nil, 1200, audit.ReasonMalformed},
		{"not JSON", func(_ *testing.T, l []string) []string { l[41] = "hello\n"; return l }, nil, 42, audit.ReasonMalformed},
		{"seq as text", edit(3, "seq", "3"), nil, 3, audit.ReasonMalformed},
		{"blank line", func(_ *testing.T, l []string) []string { return slices.Insert(l, 5, "\n") }, nil, 6, audit.ReasonMalformed},
		{"two events on a line", func(_ *testing.T, l []string) []string {
			return slices.Replace(l, 3, 5, strings.TrimSuffix(l[3], "\n")+l[4])
		}, nil, 4, audit.ReasonMalformed},
		{"huge line", func(_ *testing.T, l []string) []string {
			return slices.Insert(l, 1, `{"metadata":"`+strings.Repeat("x", audit.MaxLineSize)+`"}`+"\n")
		}, nil, 2, audit.ReasonMalformed},
		{"upper-case hash", func(t *testing.T, l []string) []string {
			ev := decodeLine(t, l[6])
			return edit(7, "hash", strings.ToUpper(ev["hash"].(string)))(t, l)
		}, nil, 7, audit.ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := tc.tamper(t, slices.Clone(clean))
			wantBroken(t, verifyLines(t, lines, audit.VerifyOptions{Head: tc.head}), tc.seq, tc.reason)
		})
	}

	// What an export alone cannot show: a cut-off tail verifies, ending early.
	r := verifyLines(t, clean[:1000], audit.VerifyOptions{})
	if !r.OK || r.LastSeq != 1000 || !bytes.Equal(r.LastHash, m.rows[999].Hash) {
		t.Errorf("report %+v, want OK ending at seq 1000", r)
	}
	// A partial export verifies from a checkpoint.
	from := audit.Checkpoint{Seq: 1000, Hash: m.rows[999].Hash}
	wantOK(t, verifyLines(t, clean[1000:], audit.VerifyOptions{From: from, Head: &m.head}), 200, m.head)
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestVerifyJSONLReadError(t *testing.T) {
	_, err := audit.VerifyJSONL(t.Context(), failingReader{}, audit.VerifyOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("err = %v, want the reader's error", err)
	}
	r, err := audit.VerifyJSONL(t.Context(), strings.NewReader(""), audit.VerifyOptions{})
	if err != nil || !r.OK || r.Events != 0 {
		t.Errorf("empty export: %+v, %v; want OK", r, err)
	}
}

// TestExportCSV reads a CSV export back with encoding/csv: same columns,
// same text, and every row's text hashes to its hash column.
func TestExportCSV(t *testing.T) {
	m := buildMixedChain(t, 1100, 100)
	rows, err := csv.NewReader(strings.NewReader(exportAll(t, audit.ExportCSV, m))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if header := append(slices.Clone(columns), "api_key_id", "format"); !slices.Equal(rows[0], header) || len(rows) != 1101 {
		t.Fatalf("header %v and %d rows, want %v", rows[0], len(rows), header)
	}
	prev := make([]byte, 32)
	for i, row := range rows[1:] {
		stored := m.rows[i]
		if row[1] != strconv.FormatInt(stored.Seq, 10) || row[10] != stored.Metadata || row[13] != hex.EncodeToString(stored.PrevHash) ||
			row[14] != hex.EncodeToString(stored.Hash) || row[16] != strconv.Itoa(stored.Format) {
			t.Fatalf("row %d = %q\nstored %+v", i+1, row, stored)
		}
		fields := row[:13]
		if stored.Format == 2 {
			fields = append(slices.Clone(fields), row[15])
		}
		if got := rowHash(prev, fields); got != row[14] {
			t.Fatalf("row %d hashes to %s, want %s", i+1, got, row[14])
		}
		prev = stored.Hash
	}
}

// apiKeyText is the exported api_key_id of a format 2 event.
func apiKeyText(id uuid.UUID) any {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// rowHash computes SHA-256(prev || canonical) from the text of an exported
// event's fields of its format, as an outside verifier would.
func rowHash(prev []byte, fields []string) string {
	h := sha256.New()
	h.Write(prev)
	for _, f := range fields {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(f))))
		io.WriteString(h, f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestExportFilter(t *testing.T) {
	m := buildChain(t, 1000)
	var buf bytes.Buffer
	filter := repo.AuditFilter{Action: "project.update", Outcome: repo.OutcomeDenied, Descending: true}
	n, err := audit.ExportJSONL(t.Context(), &buf, m, m.org, audit.ExportOptions{Filter: filter})
	if err != nil {
		t.Fatal(err)
	}
	var want []int64
	for _, ev := range slices.Backward(m.rows) {
		if ev.Action == filter.Action && ev.Outcome == filter.Outcome {
			want = append(want, ev.Seq)
		}
	}
	var got []int64
	for _, line := range strings.SplitAfter(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		got = append(got, int64(decodeLine(t, line)["seq"].(float64)))
	}
	if n != int64(len(want)) || !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("exported %d events %v, want %v", n, got, want)
	}
}

func TestExportInvalidUTF8(t *testing.T) {
	m := buildChain(t, 3)
	m.rows[1].ActorID = "bad\xff"
	for name, export := range map[string]func() (int64, error){
		"JSONL": func() (int64, error) {
			return audit.ExportJSONL(t.Context(), io.Discard, m, m.org, audit.ExportOptions{})
		},
		"CSV": func() (int64, error) {
			return audit.ExportCSV(t.Context(), io.Discard, m, m.org, audit.ExportOptions{})
		},
	} {
		if _, err := export(); err == nil || !strings.Contains(err.Error(), "actor_id") {
			t.Errorf("%s: err = %v, want one naming actor_id", name, err)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestExportErrors(t *testing.T) {
	m := buildChain(t, 10)
	for name, export := range map[string]func() (int64, error){
		"JSONL": func() (int64, error) {
			return audit.ExportJSONL(t.Context(), failingWriter{}, m, m.org, audit.ExportOptions{})
		},
		"CSV": func() (int64, error) {
			return audit.ExportCSV(t.Context(), failingWriter{}, m, m.org, audit.ExportOptions{})
		},
	} {
		if _, err := export(); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: err = %v, want the writer's error", name, err)
		}
	}
	m.listErr = &repo.Error{Kind: repo.ErrUnavailable}
	for name, export := range exports {
		if _, err := export(t.Context(), io.Discard, m, m.org, audit.ExportOptions{}); !errors.Is(err, repo.ErrUnavailable) {
			t.Errorf("%s, List failing: err = %v, want ErrUnavailable", name, err)
		}
	}
}
