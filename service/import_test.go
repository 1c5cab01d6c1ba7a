package service_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/strata-go/strata/enterprise/rbac"
	"github.com/strata-go/strata/internal/testdb"
	"github.com/strata-go/strata/repo"
	"github.com/strata-go/strata/service"
)

// jsonl returns n JSONL rows named prefix-1 ... prefix-n; edit may change
// the line of a row (counted from 1).
func jsonl(prefix string, n int, edit map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if line, ok := edit[i]; ok {
			b.WriteString(line + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"name":"%s-%d","description":"row %d"}`+"\n", prefix, i, i)
	}
	return b.String()
}

// wantRowErr checks that err is about row, of kind.
func wantRowErr(t *testing.T, err, kind error, row int64) {
	t.Helper()
	if !errors.Is(err, kind) || repo.RowOf(err) != row {
		t.Fatalf("err = %v (row %d), want %v at row %d", err, repo.RowOf(err), kind, row)
	}
}

func TestImportProjects(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d)
			ctx, svc := w.ctx, w.svc
			count := func() int {
				t.Helper()
				n := 0
				page := repo.PageRequest{Limit: repo.MaxPageSize}
				for {
					p, err := w.db.Projects().List(ctx, w.org.ID, page)
					if err != nil {
						t.Fatal(err)
					}
					n += len(p.Items)
					if p.Next == "" {
						return n
					}
					page.Cursor = p.Next
				}
			}

			// 2,500 rows in batches of 1,000: three transactions, three events.
			var progress []int64
			res, err := svc.ImportProjects(ctx, w.owner, "acme", strings.NewReader(jsonl("a", 2500, nil)),
				service.ImportOptions{BatchSize: 1000, Progress: func(n int64) { progress = append(progress, n) }})
			if err != nil || res != (service.ImportResult{Rows: 2500, Batches: 3}) {
				t.Fatalf("ImportProjects = %+v, %v", res, err)
			}
			if fmt.Sprint(progress) != "[1000 2000 2500]" {
				t.Errorf("progress %v", progress)
			}
			if n := count(); n != 2500 {
				t.Fatalf("%d projects, want 2500", n)
			}
			evs := w.events(repo.AuditFilter{Action: "project.import"})
			if len(evs) != 3 {
				t.Fatalf("%d project.import events, want 3 (one per batch)", len(evs))
			}
			var meta map[string]any
			if err := json.Unmarshal([]byte(evs[2].Metadata), &meta); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"batch": 3.0, "count": 500.0, "first_row": 2001.0, "last_row": 2500.0,
				"first": "a-2001", "last": "a-2500"}
			if fmt.Sprint(meta) != fmt.Sprint(want) || evs[2].ActorID != w.owner.UserID.String() || evs[2].TargetType != "project" ||
				evs[2].APIKeyID != w.owner.KeyID {
				t.Errorf("last event: %s by %s, metadata %v; want %v", evs[2].Action, evs[2].ActorID, meta, want)
			}
			w.success += 3
			w.checkCounts("import")

			// A bad row fails its batch, and only its batch; the error names the row.
			for _, c := range []struct {
				name string
				line string
				kind error
			}{
				{"empty name", `{"name":"  "}`, repo.ErrInvalid},
				{"missing name", `{"description":"x"}`, repo.ErrInvalid},
				{"unknown field", `{"name":"x","owner":"me"}`, repo.ErrInvalid},
				{"malformed", `{"name":`, repo.ErrInvalid},
				{"two objects", `{"name":"x"} {"name":"y"}`, repo.ErrInvalid},
				{"blank line", ``, repo.ErrInvalid},
				{"repeated in the batch", `{"name":"b-1650"}`, repo.ErrConflict},
				{"taken", `{"name":"a-17"}`, repo.ErrConflict},
			} {
				before := count()
				res, err := svc.ImportProjects(ctx, w.owner, "acme", strings.NewReader(jsonl("b-"+c.name, 2000, map[int]string{1700: strings.ReplaceAll(c.line, "b-", "b-"+c.name+"-")})),
					service.ImportOptions{BatchSize: 1000})
				wantRowErr(t, err, c.kind, 1700)
				if res.Rows != 1000 || count() != before+1000 {
					t.Errorf("%s: %+v, %d more projects; want the first batch of 1000 alone", c.name, res, count()-before)
				}
				w.success++
				w.checkCounts("failed import: " + c.name)
			}
			_, err = svc.ImportProjects(ctx, w.owner, "acme", strings.NewReader(jsonl("a", 3, nil)), service.ImportOptions{})
			if !errors.Is(err, repo.ErrConflict) || !strings.Contains(err.Error(), `"a-1"`) {
				t.Errorf("a taken name: %v", err)
			}
			w.checkCounts("taken")

			// CSV, columns in any order, quoting; Skip resumes; DryRun writes nothing.
			csv := "description,name\n\"has, comma\",c-1\n\"multi\nline\",c-2\n,c-3\n"
			res, err = svc.ImportProjects(ctx, w.owner, "acme", strings.NewReader(csv), service.ImportOptions{Format: service.CSV, Skip: 1})
			if err != nil || res.Rows != 2 {
				t.Fatalf("CSV import = %+v, %v", res, err)
			}
			w.success++
			res, err = svc.ImportProjects(ctx, w.owner, "acme", strings.NewReader(jsonl("d", 50, nil)), service.ImportOptions{DryRun: true})
			if err != nil || res.Rows != 50 {
				t.Fatalf("dry run = %+v, %v", res, err)
			}
			_, err = svc.ImportProjects(ctx, w.owner, "acme", strings.NewReader("name,owner\nx,y\n"), service.ImportOptions{Format: service.CSV})
			if !errors.Is(err, repo.ErrInvalid) {
				t.Errorf("CSV with an unknown column: %v", err)
			}
			w.checkCounts("csv")

			// projects.create is needed; a refusal is audited; another org is not found.
			viewer, _ := w.member("vic@example.com", rbac.Viewer)
			w.mutate("viewer imports", repo.ErrForbidden, func() error {
				return errOnly(svc.ImportProjects(ctx, viewer, "acme", strings.NewReader(jsonl("v", 3, nil)), service.ImportOptions{}))
			})
			member, _ := w.member("meg@example.com", rbac.Member)
			w.mutate("member imports", nil, func() error {
				return errOnly(svc.ImportProjects(ctx, member, "acme", strings.NewReader(jsonl("m", 3, nil)), service.ImportOptions{}))
			})
			if _, _, err := svc.Bootstrap(ctx, service.BootstrapInput{OrgSlug: "globex", Email: "g@example.com"}, req); err != nil {
				t.Fatal(err)
			}
			_, err = svc.ImportProjects(ctx, w.owner, "globex", strings.NewReader(jsonl("x", 3, nil)), service.ImportOptions{})
			if !errors.Is(err, repo.ErrNotFound) {
				t.Errorf("importing into another org: %v", err)
			}

			// The system imports into any org, audited as the system.
			res, err = svc.ImportProjects(ctx, service.System(req), "globex", strings.NewReader(jsonl("s", 3, nil)), service.ImportOptions{})
			if err != nil || res.Rows != 3 {
				t.Fatalf("system import = %+v, %v", res, err)
			}
		})
	}
}

// FuzzParseRow checks that the fast path of the JSONL reader agrees with
// encoding/json on every line it accepts.
func FuzzParseRow(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","description":"b"}`, `{"description":"b","name":"a"}`, ` { "name" : "a" } `,
		`{"name":"tab\there \"quoted\" \u00e9 \ud834\udd1e \/"}`, `{"name":"ü ✓ 𝄞"}`, `{"name":"a","name":"b"}`,
		`{"name":null}`, `{"name":"a","owner":"x"}`, `{"name":1}`, `{"name":"a"}x`, `{"name":"a",}`, `{}`,
		"{\"name\":\"a\x01\"}", "{\"name\":\"\xff\"}", `{"name":"a\u0000"}`, `{"na\u006de":"a"}`, `{"name":"\`,
		`[{"name":"a"}]`, `{"name":"a"}{"name":"b"}`, `{"name":"a" "description":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, ok := service.ParseRow(line)
		if !ok {
			return
		}
		slow, err := service.DecodeRow(line)
		if err != nil || fast != slow {
			t.Fatalf("%q: fast path %+v, encoding/json %+v, %v", line, fast, slow, err)
		}
	})
}

// TestImportParallelBatchesCommitInOrder: batches written at once still
// commit in order, so a failed batch leaves exactly the batches before it,
// also when two batches in flight hold the same name (each one's insert may
// then wait for the other's transaction: the later batch yields).
func TestImportParallelBatchesCommitInOrder(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(string(d), func(t *testing.T) {
			w := newWorld(t, d)
			for i, c := range []struct {
				name     string
				dup, row int // row repeats the name of row dup
			}{
				{"earlier row first", 1500, 2500},
				{"later batch first", 2000, 2001}, // the later batch reaches the name first
				{"in the third of four", 2100, 3999},
			} {
				prefix := fmt.Sprintf("c%d", i)
				edit := map[int]string{c.row: fmt.Sprintf(`{"name":"%s-%d"}`, prefix, c.dup)}
				res, err := w.svc.ImportProjects(w.ctx, w.owner, "acme", strings.NewReader(jsonl(prefix, 4000, edit)),
					service.ImportOptions{BatchSize: 1000, Parallel: 3})
				wantRowErr(t, err, repo.ErrConflict, int64(c.row))
				if want := int64(c.row-1) / 1000 * 1000; res.Rows != want {
					t.Errorf("%s: %d rows imported, want the %d before the failed batch", c.name, res.Rows, want)
				}
				evs := w.events(repo.AuditFilter{Action: "project.import"})
				for j, ev := range evs[len(evs)-res.Batches:] {
					if want := fmt.Sprintf(`"batch":%d`, j+1); !strings.Contains(ev.Metadata, want) {
						t.Errorf("%s: event %d of the import has metadata %s, want %s", c.name, j+1, ev.Metadata, want)
					}
				}
			}
		})
	}
}
