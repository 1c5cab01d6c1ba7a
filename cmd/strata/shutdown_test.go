//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/strata-go/strata/internal/loadgen"
)

// TestSIGTERMDrainsInFlightRequests sends SIGTERM to the server while it
// serves a write load and while some requests are certainly in flight (their
// handlers are reading bodies the test has not finished sending): those
// requests complete with 201, new connections are refused from the signal
// on, the process exits 0, and every acknowledged write is there after a
// restart.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		drainTest(t, "sqlite:"+filepath.Join(t.TempDir(), "strata.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		drainTest(t, emptyPostgres(t))
	})
}

// slowCreate is a POST /projects whose body the test sends in two parts.
type slowCreate struct {
	name string
	body *io.PipeWriter
	got  chan loadgen.Response
}

// startSlowCreate sends the headers of a project creation with "Expect:
// 100-continue" and returns once the server's handler has asked for the
// body, that is, once the request is in the handler's hands. The body is
// sent by finish.
func startSlowCreate(t *testing.T, hc *http.Client, base, key, name string) *slowCreate {
	t.Helper()
	pr, pw := io.Pipe()
	s := &slowCreate{name: name, body: pw, got: make(chan loadgen.Response, 1)}
	asked := make(chan struct{})
	trace := &httptrace.ClientTrace{Got100Continue: func() { close(asked) }}
	ctx, cancel := context.WithTimeout(httptrace.WithClientTrace(context.Background(), trace), 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/v1/orgs/acme/projects", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	go func() {
		defer cancel()
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			s.got <- loadgen.Response{Err: err, Latency: time.Since(start)}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.got <- loadgen.Response{Status: resp.StatusCode, Body: b, Err: err, Latency: time.Since(start)}
	}()
	select {
	case <-asked:
	case r := <-s.got:
		t.Fatalf("slow create %s answered before its body: %v", name, r)
	case <-time.After(10 * time.Second):
		t.Fatalf("slow create %s: the server never asked for the body", name)
	}
	return s
}

// finish sends the body and returns the answer.
func (s *slowCreate) finish(t *testing.T) loadgen.Response {
	t.Helper()
	go func() {
		fmt.Fprintf(s.body, `{"name":%q}`, s.name)
		s.body.Close()
	}()
	select {
	case r := <-s.got:
		return r
	case <-time.After(20 * time.Second):
		t.Fatalf("slow create %s: no answer 20 s after its body", s.name)
		return loadgen.Response{}
	}
}

func drainTest(t *testing.T, dbURL string) {
	args := []string{"--db", dbURL, "--migrate", "--shutdown-timeout", "20s"}
	p := startProc(t, procOptions{}, args...)
	key := p.key
	if key == "" {
		t.Fatalf("no first-start key:\n%s", p.log)
	}
	c := p.client(key, 10*time.Second)
	acked := newAckSet()
	load := loadgen.Start(loadgen.Config{Workers: 4}, func(ctx context.Context, w, i int) loadgen.Response {
		return createProject(ctx, c, fmt.Sprintf("drain-w%d-%d", w, i), acked)
	})
	defer load.Stop()
	if !load.WaitFor(20*time.Second, func(loadgen.Stats) bool { return acked.len() >= 30 }) {
		t.Fatalf("writes did not flow: %v", load.Stats())
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ExpectContinueTimeout = time.Minute // wait for the server to ask
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var slow []*slowCreate
	for i := range 3 {
		slow = append(slow, startSlowCreate(t, hc, p.base, key, fmt.Sprintf("in-flight-%d", i)))
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes at once: new connections are refused.
	if !eventually(10*time.Second, func() bool {
		conn, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err != nil
	}) {
		t.Errorf("the server still accepts connections 10 s after SIGTERM")
	}
	stats := load.Stop()
	// In-flight requests complete, though the listener is closed.
	select {
	case <-p.exited:
		t.Fatalf("the server exited with requests in flight:\n%s", tail(p.log.String(), 20))
	default:
	}
	for _, s := range slow {
		r := s.finish(t)
		if r.Status != http.StatusCreated {
			t.Errorf("in-flight create %s: %v, want 201", s.name, r)
			continue
		}
		var pr apiProject
		if err := json.Unmarshal(r.Body, &pr); err != nil {
			t.Fatal(err)
		}
		acked.add(s.name, pr.ID)
	}
	if code := p.wait(30 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0:\n%s", code, tail(p.log.String(), 20))
	}
	// Requests sent during the shutdown may find no server (refused, or an
	// idle connection closed under them); any answer they got is a 201.
	t.Logf("load across the shutdown: %v", stats)
	if other := stats.Ops - stats.Count(http.StatusCreated) - stats.TransportErrors; other != 0 || stats.Timeouts > 0 {
		t.Errorf("%d answers other than 201, %d timeouts: %v", other, stats.Timeouts, stats)
	}
	p = startProc(t, procOptions{}, args...)
	checkNothingHalfWritten(t, p.client(key, 30*time.Second), acked.snapshot())
	if code := p.terminate(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
}

// TestServerRunLeaksNothing runs the server in-process, OpenServer, Run
// under a load with an audit export streaming, then cancel and Close, and
// checks that no goroutine outlives it and, on PostgreSQL, that no
// connection stays open.
func TestServerRunLeaksNothing(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		leakTest(t, "sqlite:"+filepath.Join(t.TempDir(), "strata.db"), nil)
	})
	t.Run("postgres", func(t *testing.T) {
		url := emptyPostgres(t)
		leakTest(t, url, func() int {
			conn, err := pgx.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var n int
			err = conn.QueryRow(context.Background(),
				"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			return n
		})
	})
}

// leakTest is TestServerRunLeaksNothing on one database; conns, when set,
// counts the database's connections other than its own.
func leakTest(t *testing.T, dbURL string, conns func() int) {
	// Whatever runs now (the shared PostgreSQL cluster, other tests' idle
	// HTTP connections) is not this test's.
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := OpenServer(ctx, ServeConfig{
		DB: dbURL, Addr: "127.0.0.1:0", Migrate: true, Shutdown: 10 * time.Second, RequestTimeout: 10 * time.Second,
		BootstrapOrg: "acme", BootstrapEmail: "admin@example.com", PolicyStaleness: time.Second,
	}, log, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	m := firstStartKey.FindStringSubmatch(stdout.String())
	if m == nil {
		srv.Close()
		t.Fatalf("no first-start key: %q", stdout.String())
	}
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()

	c := &loadgen.Client{Base: "http://" + srv.Addr(), Key: m[1], Timeout: 10 * time.Second}
	defer c.Close()
	acked := newAckSet()
	stats := loadgen.Start(loadgen.Config{Workers: 4, MaxOps: 200}, func(ctx context.Context, w, i int) loadgen.Response {
		switch i % 4 {
		case 0, 1:
			return createProject(ctx, c, fmt.Sprintf("leak-w%d-%d", w, i), acked)
		case 2:
			return c.Do(ctx, "GET", "/v1/orgs/acme/projects?limit=5", "")
		}
		return c.Do(ctx, "GET", "/v1/orgs/acme/audit-events/export?format=jsonl", "")
	}).Wait()
	if stats.Ops != stats.Class(2) {
		t.Errorf("load: %v, want only 2xx", stats)
	}
	// An export still streaming when the server is told to stop, its
	// answer read slowly: the shutdown waits for it.
	req, _ := http.NewRequest("GET", c.Base+"/v1/orgs/acme/audit-events/export?format=jsonl", nil)
	req.Header.Set("Authorization", "Bearer "+m[1])
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	var n int64
	go func() {
		defer wg.Done()
		n, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return 20 s after its context ended")
	}
	wg.Wait()
	if resp.StatusCode != http.StatusOK || n == 0 {
		t.Errorf("export in flight at shutdown: %d, %d bytes", resp.StatusCode, n)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	c.Close()
	if conns != nil && !eventually(10*time.Second, func() bool { return conns() == 0 }) {
		t.Errorf("%d database connections still open after Close", conns())
	}
}
