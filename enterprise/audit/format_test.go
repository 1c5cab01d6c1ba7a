package audit_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/strata-go/strata/enterprise/audit"
	"github.com/strata-go/strata/repo"
)

// exampleEvent is FORMAT.md's worked example.
func exampleEvent() repo.AuditEvent {
	return repo.AuditEvent{
		OrgID:      uuid.MustParse("0193a5c0-7b2e-7c3d-8e4f-5a6b7c8d9e0f"),
		Seq:        1,
		ID:         uuid.MustParse("0193a5c0-7b2f-7a01-b234-56789abcdef0"),
		OccurredAt: time.Date(2025, 1, 2, 3, 4, 5, 123456000, time.UTC),
		ActorType:  repo.ActorUser,
		ActorID:    "0193a5c0-7b2e-7000-8000-000000000001",
		Action:     "project.update",
		TargetType: "project",
		TargetID:   "0193a5c0-7b30-7abc-9def-0123456789ab",
		Outcome:    repo.OutcomeSuccess,
		Metadata:   `{"after":{"name":"apollo"},"before":{"name":"gemini"}}`,
		RemoteAddr: "203.0.113.7",
		RequestID:  "req-42",
		PrevHash:   make([]byte, 32),
	}
}

// The hashes of the worked example, in format 1 and in format 2.
const (
	exampleHash  = "c37912652fb0aac4b1aad57182a1bdf73db26decae5ebcf1d091b2b9cf5e5cfd"
	exampleHash2 = "e0ec3e5c869f00a0bb57885df8873302830149ce9dc2c1c1b0f01e00788f776f"
)

// formatDoc returns FORMAT.md and the contents of its fenced blocks of lang.
func formatDoc(t *testing.T, lang string) (string, []string) {
	t.Helper()
	doc, err := os.ReadFile("FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^```"+lang+"\n(.*?)^```$").FindAllStringSubmatch(string(doc), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatalf("FORMAT.md has no %s block", lang)
	}
	return string(doc), blocks
}

// TestCanonicalExample checks FORMAT.md's worked example: the canonical
// bytes field by field, the hash, and the JSONL line.
func TestCanonicalExample(t *testing.T) {
	ev := exampleEvent()
	canonical := audit.Canonical(ev)
	if len(canonical) != 327 {
		t.Errorf("canonical encoding is %d bytes, FORMAT.md says 327", len(canonical))
	}
	if got := hex.EncodeToString(audit.Seal(&ev)); got != exampleHash {
		t.Errorf("Seal = %s, want %s", got, exampleHash)
	}

	doc, texts := formatDoc(t, "text")
	if !strings.Contains(doc, "hash = "+exampleHash) {
		t.Error("FORMAT.md does not show the example's hash")
	}
	if got, want := strings.Join(strings.Fields(texts[0]), ""), hex.EncodeToString(canonical); got != want {
		t.Errorf("FORMAT.md's canonical hex\n%s\nwant\n%s", got, want)
	}

	_, lines := formatDoc(t, "jsonl")
	v2 := exampleEvent()
	v2.Format, v2.APIKeyID = 2, uuid.MustParse("0193a5c0-7b2e-7d00-9000-0000000000a1")
	if got := len(audit.Canonical(v2)); got != 367 {
		t.Errorf("format 2: canonical encoding is %d bytes, FORMAT.md says 367", got)
	}
	if got := hex.EncodeToString(audit.Seal(&v2)); got != exampleHash2 || !strings.Contains(doc, "hash = "+exampleHash2) {
		t.Errorf("format 2: Seal = %s, want FORMAT.md's %s", got, exampleHash2)
	}
	for i, ev := range []repo.AuditEvent{ev, v2} {
		m := newMemChain()
		m.org = ev.OrgID
		ev.Hash = audit.Seal(&ev)
		m.rows, m.head = []repo.AuditEvent{ev}, audit.Checkpoint{Seq: 1, Hash: ev.Hash}
		if got := exportJSONL(t, m); got[0] != lines[i] {
			t.Errorf("FORMAT.md's JSONL line\n%s\nexports as\n%s", lines[i], got[0])
		}
	}
}

func TestSealMatchesCanonical(t *testing.T) {
	ev := sample(repo.NewID(), 1)
	ev.Seq, ev.PrevHash = 42, bytes.Repeat([]byte{9}, 32)
	a := audit.Seal(&ev)
	ev.OccurredAt = ev.OccurredAt.In(time.FixedZone("CET", 3600)) // same instant, other zone
	if !bytes.Equal(audit.Seal(&ev), a) {
		t.Error("the hash depends on the time zone of OccurredAt")
	}
	ev.Seq = 43
	if bytes.Equal(audit.Seal(&ev), a) {
		t.Error("the hash does not cover seq")
	}
	// Field boundaries matter: moving a character from one field to the
	// next changes the encoding.
	x, y := exampleEvent(), exampleEvent()
	x.TargetType, x.TargetID = "project:", "p"
	y.TargetType, y.TargetID = "project", ":p"
	if bytes.Equal(audit.Canonical(x), audit.Canonical(y)) {
		t.Error("canonical encoding is ambiguous across fields")
	}
}

// TestFormatScript runs FORMAT.md's Python script, as published, on the
// worked example, on a 300-event export, and on tampered exports.
func TestFormatScript(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	_, scripts := formatDoc(t, "python")
	script := filepath.Join(t.TempDir(), "verify.py")
	if err := os.WriteFile(script, []byte(scripts[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(input string) (string, error) {
		cmd := exec.Command(python, script)
		cmd.Stdin = strings.NewReader(input)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return strings.TrimSpace(out.String()), err
	}

	_, example := formatDoc(t, "jsonl")
	for i, hash := range []string{exampleHash, exampleHash2} {
		if out, err := run(example[i]); err != nil || out != "ok: 1 events, last hash "+hash {
			t.Errorf("example %d: %q, %v", i+1, out, err)
		}
	}

	m := buildMixedChain(t, 300, 100) // formats 1 and 2, as an upgraded database has
	lines := exportJSONL(t, m)
	want := "ok: 300 events, last hash " + hex.EncodeToString(m.head.Hash)
	if out, err := run(strings.Join(lines, "")); err != nil || out != want {
		t.Fatalf("intact export: %q, %v; want %q", out, err, want)
	}

	for _, tc := range []struct {
		name   string
		lines  []string
		broken string
	}{
		{"changed", replaceLine(lines, 122, strings.Replace(lines[122], `"p-122"`, `"p-7"`, 1)), "broken at seq 123: hash"},
		{"deleted", slices.Delete(slices.Clone(lines), 199, 200), "broken at seq 200: found seq 201"},
		{"swapped", replaceLine(replaceLine(lines, 10, lines[20]), 20, lines[10]), "broken at seq 11: found seq 21"},
		{"format changed", replaceLine(lines, 150, strings.Replace(lines[150], `"format":2`, `"format":1`, 1)), "broken at seq 151: hash"},
		{"unknown format", replaceLine(lines, 150, strings.Replace(lines[150], `"format":2`, `"format":3`, 1)), "broken at seq 151: format 3"},
	} {
		out, err := run(strings.Join(tc.lines, ""))
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.HasPrefix(out, tc.broken) {
			t.Errorf("%s: %q, %v; want exit status 1 and %q", tc.name, out, err, tc.broken)
		}
	}
}

func replaceLine(lines []string, i int, line string) []string {
	out := slices.Clone(lines)
	out[i] = line
	return out
}
