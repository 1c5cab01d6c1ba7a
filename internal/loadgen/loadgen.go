// Package loadgen drives a bounded, concurrent load against an HTTP API and
// tallies what came back: the fault tests of cmd/strata run it while they
// kill, cut off or starve the server.
//
//	c := &loadgen.Client{Base: base, Key: key, Timeout: 5 * time.Second}
//	load := loadgen.Start(loadgen.Config{Workers: 4, MaxOps: 500}, func(ctx context.Context, w, i int) loadgen.Response {
//		return c.Do(ctx, "POST", "/v1/orgs/acme/projects", fmt.Sprintf(`{"name":"w%d-%d"}`, w, i))
//	})
//	... inject a fault ...
//	stats := load.Stop()
//	t.Log(stats)
//
// A load is bounded three ways: by Config.MaxOps, by Config.Duration, and by
// Stop. Stop never cancels an operation in flight: each ends on its own
// (every Client request has a deadline), so that a test can tell a request
// the server failed from one the test cut short.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Client sends requests with a bearer key and a deadline each.
type Client struct {
	Base    string        // e.g. http://127.0.0.1:8080
	Key     string        // sent as Authorization: Bearer Key, when set
	Timeout time.Duration // per request, body included; 0 means 10s
	// HTTP sends the requests; nil means a client of its own, with enough
	// idle connections for a load's workers (see Close).
	HTTP *http.Client

	once sync.Once
	own  *http.Client
}

// DefaultTimeout is a request's deadline when Client.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Response is the outcome of one request: a status and body, or the error
// that kept it from having one.
type Response struct {
	Status  int // 0 when Err is set
	Header  http.Header
	Body    []byte
	Err     error         // transport error: refused, reset, timed out
	Latency time.Duration // from sending to the end of the body
	// TimedOut reports that the request's own deadline (Client.Timeout)
	// passed before the answer was complete.
	TimedOut bool
}

func (r Response) String() string {
	if r.Err != nil {
		return fmt.Sprintf("error after %v: %v", r.Latency.Round(time.Millisecond), r.Err)
	}
	return fmt.Sprintf("%d %s", r.Status, strings.TrimSpace(string(r.Body)))
}

func (c *Client) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	c.once.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		c.own = &http.Client{Transport: tr}
	})
	return c.own
}

// Close closes the idle connections of the Client's own HTTP client, so that
// no keep-alive goroutine outlives a test.
func (c *Client) Close() {
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
}

// Do sends method path (relative to Base) with body as JSON when it is not
// empty, and reads the whole answer, all within the Client's timeout. ctx
// may end it sooner.
func (c *Client) Do(ctx context.Context, method, path, body string, header ...string) Response {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, errDeadline)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return Response{Err: err}
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.client().Do(req)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			return Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Latency: time.Since(start)}
		}
	}
	return Response{Err: err, Latency: time.Since(start), TimedOut: errors.Is(context.Cause(ctx), errDeadline)}
}

var errDeadline = errors.New("loadgen: request deadline passed")

// Config bounds a load.
type Config struct {
	Workers  int           // goroutines sending; 0 means 4
	MaxOps   int           // operations in all; 0 means no limit
	Duration time.Duration // how long workers start new operations; 0 means no limit
}

// Op is one operation of worker w (0 to Workers-1), its i-th (from 0). It
// returns the response that decides its outcome (its last, when it retried).
type Op func(ctx context.Context, w, i int) Response

// Load is a running load.
type Load struct {
	start time.Time
	stop  chan struct{} // closed to stop the workers
	done  chan struct{} // closed once they all returned
	once  sync.Once
	ops   atomic.Int64 // started
	mu    sync.Mutex
	stats Stats
}

// Start starts cfg.Workers workers running op until cfg.MaxOps operations
// have started, cfg.Duration has passed, or Stop is called.
func Start(cfg Config, op Op) *Load {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	l := &Load{start: time.Now(), stop: make(chan struct{}), done: make(chan struct{}), stats: Stats{Statuses: map[int]int{}}}
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				if n := l.ops.Add(1); cfg.MaxOps > 0 && n > int64(cfg.MaxOps) {
					return
				}
				l.record(op(context.Background(), w, i))
			}
		}()
	}
	go func() {
		var deadline <-chan time.Time
		if cfg.Duration > 0 {
			timer := time.NewTimer(cfg.Duration)
			defer timer.Stop()
			deadline = timer.C
		}
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		select {
		case <-deadline:
			l.halt()
			<-finished
		case <-finished:
		}
		close(l.done)
	}()
	return l
}

func (l *Load) halt() { l.once.Do(func() { close(l.stop) }) }

func (l *Load) record(r Response) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := &l.stats
	s.Ops++
	switch {
	case r.TimedOut:
		s.Timeouts++
	case r.Err != nil:
		s.TransportErrors++
	default:
		s.Statuses[r.Status]++
		s.latencies = append(s.latencies, r.Latency)
	}
}

// Stats returns the tally so far.
func (l *Load) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Statuses = make(map[int]int, len(l.stats.Statuses))
	for k, v := range l.stats.Statuses {
		s.Statuses[k] = v
	}
	s.latencies = slices.Clone(l.stats.latencies)
	s.Elapsed = time.Since(l.start)
	return s
}

// WaitFor polls the tally until cond holds, and reports whether it did
// before timeout passed or the load ended.
func (l *Load) WaitFor(timeout time.Duration, cond func(Stats) bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond(l.Stats()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-l.done:
			return cond(l.Stats())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Stop lets every worker finish the operation it is running, waits for
// them, and returns the tally.
func (l *Load) Stop() Stats {
	l.halt()
	<-l.done
	return l.Stats()
}

// Wait waits for the load to end by itself (MaxOps or Duration) and
// returns the tally.
func (l *Load) Wait() Stats {
	<-l.done
	return l.Stats()
}

// Stats is the tally of a load.
type Stats struct {
	Ops             int         // operations that ended
	Statuses        map[int]int // answers by status
	TransportErrors int         // operations without an answer, other than timeouts
	Timeouts        int         // operations whose request deadline passed
	Elapsed         time.Duration
	latencies       []time.Duration // of the answered operations
}

// Count returns the number of answers with one of the statuses.
func (s Stats) Count(statuses ...int) int {
	n := 0
	for _, st := range statuses {
		n += s.Statuses[st]
	}
	return n
}

// Class returns the number of answers with a status from c*100 to c*100+99
// (Class(5): every 5xx).
func (s Stats) Class(c int) int {
	n := 0
	for st, k := range s.Statuses {
		if st/100 == c {
			n += k
		}
	}
	return n
}

// Percentile returns the latency below which p (0 to 100) percent of the
// answered operations fell; 0 without any.
func (s Stats) Percentile(p float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	i := int(p / 100 * float64(len(l)-1))
	return l[max(0, min(i, len(l)-1))]
}

// Throughput returns answered operations per second.
func (s Stats) Throughput() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(len(s.latencies)) / s.Elapsed.Seconds()
}

// String summarizes the tally on one line.
func (s Stats) String() string {
	codes := make([]int, 0, len(s.Statuses))
	for c := range s.Statuses {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var b strings.Builder
	fmt.Fprintf(&b, "%d ops in %v (%.0f/s, p50 %v, p99 %v):", s.Ops, s.Elapsed.Round(time.Millisecond),
		s.Throughput(), s.Percentile(50).Round(time.Microsecond), s.Percentile(99).Round(time.Microsecond))
	for _, c := range codes {
		fmt.Fprintf(&b, " %d×%d", s.Statuses[c], c)
	}
	if s.TransportErrors > 0 {
		fmt.Fprintf(&b, " %d transport errors", s.TransportErrors)
	}
	if s.Timeouts > 0 {
		fmt.Fprintf(&b, " %d timeouts", s.Timeouts)
	}
	return b.String()
}
