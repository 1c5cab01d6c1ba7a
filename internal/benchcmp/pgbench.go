package benchcmp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MinPgbenchRatio is the target of the pgbench comparison: repository
// throughput at least this fraction of pgbench's on the same server.
const MinPgbenchRatio = 0.8

// PgbenchEnv names the environment variable that enables the pgbench
// comparison (which takes about half a minute): "1" runs it with rounds of
// DefaultRound, a Go duration such as "5s" with rounds that long.
const PgbenchEnv = "STRATA_BENCH_PGBENCH"

// DefaultRound is the length of one round of the pgbench comparison.
const DefaultRound = 2 * time.Second

// PgbenchRound reads PgbenchEnv: whether the comparison should run, and
// how long each round lasts (whole seconds, as pgbench -T takes).
func PgbenchRound() (time.Duration, bool, error) {
	v := os.Getenv(PgbenchEnv)
	switch v {
	case "", "0", "false":
		return 0, false, nil
	case "1", "true":
		return DefaultRound, true, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, false, fmt.Errorf("%s=%q: want 1 or a duration of at least 1s", PgbenchEnv, v)
	}
	return d.Round(time.Second), true, nil
}

// PgbenchPath returns the path of the pgbench binary: next to the
// PostgreSQL server binaries the tests use ($STRATA_TEST_POSTGRES_BIN, else
// /usr/lib/postgresql/15/bin), else on $PATH.
func PgbenchPath() (string, error) {
	dirs := []string{"/usr/lib/postgresql/15/bin"}
	if d := os.Getenv("STRATA_TEST_POSTGRES_BIN"); d != "" {
		dirs = []string{d}
	}
	for _, d := range dirs {
		p := filepath.Join(d, "pgbench")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("pgbench")
	if err != nil {
		return "", fmt.Errorf("pgbench not found in %s or on $PATH", strings.Join(dirs, ", "))
	}
	return p, nil
}

// Pgbench runs the pgbench binary at path with args, without the PG*
// variables of our environment, and returns its combined output.
func Pgbench(ctx context.Context, path string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("pgbench %s: %w\n%s", strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return out.String(), nil
}

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)`)

// ParseTPS reads the transactions per second from pgbench's report,
// excluding the time spent connecting.
func ParseTPS(out string) (float64, error) {
	m := tpsLine.FindStringSubmatch(out)
	if m == nil {
		return 0, errors.New("no tps line in pgbench output")
	}
	return strconv.ParseFloat(m[1], 64)
}

// Load is what Throughput measured.
type Load struct {
	Ops     int64
	Elapsed time.Duration
	Allocs  uint64 // heap allocations of the whole process meanwhile
	Bytes   uint64
}

// PerSecond returns the operations per second.
func (l Load) PerSecond() float64 { return float64(l.Ops) / l.Elapsed.Seconds() }

// AllocsPerOp returns the heap allocations per operation.
func (l Load) AllocsPerOp() float64 { return per(float64(l.Allocs), int(l.Ops)) }

// Throughput runs op in a loop on each of clients goroutines for d (each
// finishes the operation it is in when d is up). op gets the client's
// number and its count of operations so far. The first error stops every
// client and is returned.
func Throughput(ctx context.Context, clients int, d time.Duration, op func(ctx context.Context, client, i int) error) (Load, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		stop  atomic.Bool
		total atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
		ms    runtime.MemStats
	)
	runtime.ReadMemStats(&ms)
	mallocs, bytes := ms.Mallocs, ms.TotalAlloc
	start := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	defer timer.Stop()
	for c := range clients {
		wg.Go(func() {
			n := 0
			for !stop.Load() {
				if err := op(ctx, c, n); err != nil {
					once.Do(func() { first = err })
					stop.Store(true)
					cancel()
					break
				}
				n++
			}
			total.Add(int64(n))
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms)
	return Load{Ops: total.Load(), Elapsed: elapsed, Allocs: ms.Mallocs - mallocs, Bytes: ms.TotalAlloc - bytes}, first
}
