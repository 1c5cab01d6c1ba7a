package loadgen_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/loadgen"
)

func TestLoadIsBoundedAndTallied(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if hits.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c := &loadgen.Client{Base: srv.URL, Key: "k"}
	defer c.Close()

	s := loadgen.Start(loadgen.Config{Workers: 3, MaxOps: 100}, func(ctx context.Context, w, i int) loadgen.Response {
		return c.Do(ctx, "POST", "/", `{}`)
	}).Wait()
	if s.Ops != 100 || s.Count(201) != 90 || s.Count(503) != 10 || s.Class(5) != 10 || s.Class(2) != 90 {
		t.Errorf("tally: %v", s)
	}
	if s.Percentile(99) <= 0 || s.Percentile(50) > s.Percentile(99) || s.Throughput() <= 0 {
		t.Errorf("latencies: %v", s)
	}

	// Duration bounds a load without MaxOps.
	start := time.Now()
	s = loadgen.Start(loadgen.Config{Workers: 2, Duration: 50 * time.Millisecond}, func(ctx context.Context, w, i int) loadgen.Response {
		return c.Do(ctx, "GET", "/", "")
	}).Wait()
	if s.Ops == 0 || time.Since(start) > 5*time.Second {
		t.Errorf("a 50ms load: %v after %v", s, time.Since(start))
	}
}

func TestStopLetsOperationsFinishAndDeadlinesAreTimeouts(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-r.Context().Done()
			return
		}
		if n.Add(1) <= 2 { // the first two wait for the test
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	defer close(release)

	c := &loadgen.Client{Base: srv.URL, Timeout: 50 * time.Millisecond}
	defer c.Close()
	if r := c.Do(context.Background(), "GET", "/hang", ""); !r.TimedOut || r.Err == nil || r.Status != 0 {
		t.Errorf("a request past its deadline: %+v", r)
	}

	slow := &loadgen.Client{Base: srv.URL, Timeout: 10 * time.Second}
	defer slow.Close()
	var started atomic.Int64
	l := loadgen.Start(loadgen.Config{Workers: 2}, func(ctx context.Context, w, i int) loadgen.Response {
		started.Add(1)
		return slow.Do(ctx, "GET", "/", "")
	})
	for started.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan loadgen.Stats)
	go func() { stopped <- l.Stop() }()
	release <- struct{}{}
	release <- struct{}{}
	s := <-stopped
	if s.Ops < 2 || s.Count(200) != s.Ops {
		t.Errorf("operations in flight at Stop: %v, want them answered", s)
	}
}
