// Package loadtest measures Strata from the outside: it builds the strata
// binary, runs it as a separate process over a real database (its tests
// drive it over loopback HTTP with package loadgen), and reads the peak
// resident memory of the processes it ran.
//
//	bin, err := loadtest.Build(ctx, dir)
//	srv, err := loadtest.Start(ctx, bin, "sqlite:"+file)
//	... load srv.URL with srv.Key ...
//	_, peak, err := srv.Memory()
//	srv.Stop()
//
// Its tests (see load_test.go) are gated behind environment variables,
// since they take minutes: STRATA_LOADTEST=1 go test -run . -v ./internal/loadtest.
package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles cmd/strata into dir and returns the binary's path.
func Build(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "strata")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/strata")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of the module holding this package.
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("loadtest: cannot locate the module")
	}
	return filepath.Join(filepath.Dir(file), "..", ".."), nil
}

// Server is a running `strata serve`.
type Server struct {
	URL string // http://127.0.0.1:PORT
	Key string // the bootstrapped owner's API key (org "acme")
	cmd *exec.Cmd
}

// Start runs `strata serve` on a free loopback port over dbURL, an empty
// migrated database (or a SQLite file to create), and waits until it
// serves. The first start bootstraps the org "acme", whose owner's key is
// Server.Key. The server's log is discarded.
func Start(ctx context.Context, bin, dbURL string, args ...string) (*Server, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--db", dbURL, "--addr", "127.0.0.1:0",
		"--bootstrap-org", "acme", "--bootstrap-email", "owner@example.com"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{cmd: cmd}
	keyc, addrc := make(chan string, 1), make(chan string, 1)
	go scan(stdout, func(line string) bool {
		if strings.HasPrefix(line, "strata_") {
			keyc <- line
			return true
		}
		return false
	})
	var log bytes.Buffer // until it serves, for the error message
	var mu sync.Mutex
	go scan(stderr, func(line string) bool {
		mu.Lock()
		defer mu.Unlock()
		if log.Len() < 64<<10 {
			log.WriteString(line + "\n")
		}
		if _, addr, ok := strings.Cut(line, "addr=http://"); ok && strings.Contains(line, "serving") {
			addrc <- "http://" + strings.Fields(addr)[0]
			return true
		}
		return false
	})
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for s.URL == "" || s.Key == "" {
		select {
		case s.Key = <-keyc:
		case s.URL = <-addrc:
		case <-timeout.C:
			s.Stop()
			mu.Lock()
			defer mu.Unlock()
			return nil, fmt.Errorf("strata serve did not start: %s", log.String())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		}
	}
	return s, nil
}

// scan calls found with each line of r until it returns true, then discards
// the rest of r (a pipe must be drained, or the process blocks).
func scan(r io.Reader, found func(string) bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if found(sc.Text()) {
			break
		}
	}
	io.Copy(io.Discard, r)
}

// PID returns the server's process ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Memory returns the server's resident set now and its peak so far
// (VmRSS and VmHWM in /proc/PID/status), in bytes.
func (s *Server) Memory() (rss, peak int64, err error) { return ProcMemory(s.PID()) }

// Stop ends the server with SIGTERM (a graceful shutdown), waits for it and
// returns the peak resident set of its whole life, in bytes, as PeakRSS
// reports it (an upper bound; Memory, before Stop, is exact).
func (s *Server) Stop() (peak int64, err error) {
	if s.cmd.Process == nil {
		return 0, nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		err = <-done
	}
	return PeakRSS(s.cmd.ProcessState), err
}

// ProcMemory reads VmRSS and VmHWM of a live process, in bytes.
func ProcMemory(pid int) (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		f := strings.Fields(val) // "12345 kB"
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// RunPeak runs cmd to its end while sampling its peak resident set (VmHWM,
// every few milliseconds), and returns the last sample, in bytes: the
// process's peak, but for growth in its last milliseconds.
//
// Why not ru_maxrss: Go starts children with vfork semantics, so a child's
// ru_maxrss includes the parent's resident set when it was spawned (Linux
// carries the high-water mark of the memory the child shared with its
// parent across exec). VmHWM counts the child's own memory only.
func RunPeak(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return peak, err
		case <-tick.C:
			if _, hwm, err := ProcMemory(cmd.Process.Pid); err == nil {
				peak = max(peak, hwm)
			}
		}
	}
}

// PeakRSS returns the peak resident set of a process that has exited
// (getrusage's ru_maxrss, as wait4 reports it), in bytes: an upper bound,
// since it includes the parent's resident set when the process was spawned
// (see RunPeak).
func PeakRSS(st *os.ProcessState) int64 {
	if st == nil {
		return 0
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10 // kilobytes on Linux
	}
	return 0
}
