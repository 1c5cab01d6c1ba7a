//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/loadgen"
)

// Helpers of the fault tests: a `strata serve` child process a test can
// kill, signal and restart, and readers of what the API holds.

// strataProc is a running `strata serve` child process.
type strataProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string        // http://127.0.0.1:PORT
	addr   string        // 127.0.0.1:PORT
	key    string        // the first-start key, when this start printed one
	log    *lockedBuffer // stderr
	exited chan struct{} // closed once the process has exited
	state  *os.ProcessState
}

// procOptions change how startProc runs the server.
type procOptions struct {
	// cred runs the server as another OS user (as root only).
	cred *syscall.Credential
	// bin is the binary to run; "" means strataBinary's.
	bin string
}

// startProc starts `strata serve --addr 127.0.0.1:0 args...` and waits until
// it serves; it fails the test if the server exits first or takes more than
// 30 s. The process is killed at the end of the test if still running.
func startProc(t *testing.T, opts procOptions, args ...string) *strataProc {
	t.Helper()
	p, err := launchProc(t, opts, args...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// launchProc is startProc that returns the error, with the server's log,
// when the server exits before it serves.
func launchProc(t *testing.T, opts procOptions, args ...string) (*strataProc, error) {
	t.Helper()
	stdout, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	bin := opts.bin
	if bin == "" {
		bin = strataBinary(t)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "STRATA_DB=", "STRATA_REPLICAS=")
	p := &strataProc{t: t, cmd: cmd, log: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = stdout, p.log
	if opts.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: opts.cred}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	deadline := time.After(30 * time.Second)
	for {
		if m := servingAddr.FindStringSubmatch(p.log.String()); m != nil {
			p.addr, p.base = m[1], "http://"+m[1]
			break
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("strata serve %v exited (%v) before serving:\n%s", args, p.state, p.log)
		case <-deadline:
			return nil, fmt.Errorf("strata serve %v did not serve within 30 s:\n%s", args, p.log)
		case <-time.After(5 * time.Millisecond):
		}
	}
	// The key is printed before the server listens (see serveOut).
	b, err := os.ReadFile(stdout.Name())
	if err != nil {
		t.Fatal(err)
	}
	if m := firstStartKey.FindStringSubmatch(string(b)); m != nil {
		p.key = m[1]
	}
	return p, nil
}

// pid returns the server's process ID.
func (p *strataProc) pid() int { return p.cmd.Process.Pid }

// kill sends SIGKILL, as a crash would, and waits for the process to exit.
func (p *strataProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// terminate sends SIGTERM and returns the exit code; the test fails if the
// process takes longer than 30 s to exit.
func (p *strataProc) terminate() int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.wait(30 * time.Second)
}

// wait waits up to timeout for the process to exit and returns its exit
// code; it kills the process and fails the test after timeout.
func (p *strataProc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.kill()
		p.t.Fatalf("strata serve did not exit within %v:\n%s", timeout, tail(p.log.String(), 40))
	}
	return p.state.ExitCode()
}

// client returns a load client of the server with key and a per-request
// deadline.
func (p *strataProc) client(key string, timeout time.Duration) *loadgen.Client {
	c := &loadgen.Client{Base: p.base, Key: key, Timeout: timeout}
	p.t.Cleanup(c.Close)
	return c
}

// lockedBuffer is a bytes.Buffer safe for one writer and many readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// apiProject is a project as the API shows it.
type apiProject struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// apiEvent is an audit event as the API shows it.
type apiEvent struct {
	Seq      int64  `json:"seq"`
	Action   string `json:"action"`
	TargetID string `json:"target_id"`
	Outcome  string `json:"outcome"`
}

// listAll reads every page of an org's list route (path may carry a
// query) and returns the items.
func listAll[T any](t *testing.T, c *loadgen.Client, path string) []T {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var all []T
	cursor := ""
	for {
		r := c.Do(context.Background(), "GET", path+sep+"limit=500&cursor="+url.QueryEscape(cursor), "")
		if r.Status != 200 {
			t.Fatalf("GET %s: %v", path, r)
		}
		var page struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, r.Body)
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// checkNothingHalfWritten checks what a crash or a lost connection must
// not leave behind in org acme: every project in acked (name to ID, as the
// client saw it created) is there, with that ID; every project has exactly
// one successful project.create audit event and every such event names a
// project; and the audit chain verifies. It returns the projects by name.
func checkNothingHalfWritten(t *testing.T, c *loadgen.Client, acked map[string]string) map[string]apiProject {
	t.Helper()
	waitSealed(t, c)
	projects := listAll[apiProject](t, c, "/v1/orgs/acme/projects")
	byName := map[string]apiProject{}
	byID := map[string]bool{}
	for _, p := range projects {
		if _, dup := byName[p.Name]; dup {
			t.Errorf("project name %q appears twice", p.Name)
		}
		byName[p.Name], byID[p.ID] = p, true
	}
	lost := 0
	for name, id := range acked {
		p, ok := byName[name]
		switch {
		case !ok:
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged project %q (id %s) is missing", name, id)
			}
		case id != "" && p.ID != id:
			t.Errorf("project %q has id %s, the client was told %s", name, p.ID, id)
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged projects are missing", lost, len(acked))
	}
	events := listAll[apiEvent](t, c, "/v1/orgs/acme/audit-events?action=project.create&outcome=success&order=asc")
	perProject := map[string]int{}
	orphans := 0
	for _, e := range events {
		perProject[e.TargetID]++
		if !byID[e.TargetID] {
			if orphans++; orphans <= 5 {
				t.Errorf("audit event %d records the creation of project %s, which does not exist", e.Seq, e.TargetID)
			}
		}
	}
	if orphans > 0 {
		t.Errorf("%d project.create audit events name no project", orphans)
	}
	halfWritten := 0
	for _, p := range projects {
		if n := perProject[p.ID]; n != 1 {
			if halfWritten++; halfWritten <= 5 {
				t.Errorf("project %q (%s) has %d project.create audit events, want 1", p.Name, p.ID, n)
			}
		}
	}
	if halfWritten > 0 {
		t.Errorf("%d of %d projects do not have exactly one project.create audit event", halfWritten, len(projects))
	}
	r := c.Do(context.Background(), "GET", "/v1/orgs/acme/audit-events/verify", "")
	var rep struct {
		OK     bool  `json:"ok"`
		Events int64 `json:"events"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &rep) != nil || !rep.OK {
		t.Errorf("audit verify: %v", r)
	}
	t.Logf("%d projects (%d acknowledged), %d project.create events, chain of %d events verifies",
		len(projects), len(acked), len(events), rep.Events)
	return byName
}

// waitSealed waits until the server's sealer sealed every event of acme
// committed so far (on PostgreSQL, events are sealed shortly after their
// commit; a restarted server seals what its predecessor left), as the
// verify report's pending count tells, for up to 10 s.
func waitSealed(t *testing.T, c *loadgen.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := c.Do(context.Background(), "GET", "/v1/orgs/acme/audit-events/verify", "")
		var rep struct {
			Pending int64 `json:"pending"`
		}
		if r.Status == 200 && json.Unmarshal(r.Body, &rep) == nil && rep.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events still waiting to be sealed after 10 s: %v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isUnavailable reports whether r is the API's 503: a JSON error with code
// "unavailable" and a Retry-After header.
func isUnavailable(r loadgen.Response) bool {
	if r.Status != 503 || r.Header.Get("Retry-After") == "" {
		return false
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	return json.Unmarshal(r.Body, &body) == nil && body.Error.Code == "unavailable" && body.Error.Message != ""
}

// metricValue returns the value of the first sample of metric name whose
// labels contain every one of labels (e.g. `role="replica"`) in a /metrics
// page, and whether there is one.
func metricValue(page, name string, labels ...string) (float64, bool) {
	for _, line := range strings.Split(page, "\n") {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		lbl, val, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(lbl, l)
		}
		if match {
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// soak returns how long the soak variants of the fault tests should keep
// going (STRATA_SOAK, a duration such as 2m; `make soak`), and 0 for the
// fast variants of `make test`.
func soak(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("STRATA_SOAK")
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("STRATA_SOAK=%q: want a duration such as 2m", v)
	}
	return d
}

// eventually polls cond every 10 ms until it holds or timeout passes, and
// reports whether it held.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
