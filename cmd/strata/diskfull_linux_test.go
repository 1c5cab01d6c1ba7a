package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/strata-go/strata/internal/loadgen"
)

// setFileSizeLimit sets the soft RLIMIT_FSIZE of process pid: the process
// can write no file past limit bytes, and gets EFBIG when it tries, as on a
// full disk. The hard limit stays unlimited, so the limit can be lifted.
func setFileSizeLimit(t *testing.T, pid int, limit uint64) {
	t.Helper()
	lim := syscall.Rlimit{Cur: limit, Max: ^uint64(0)}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE,
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		t.Fatalf("prlimit(%d, RLIMIT_FSIZE, %d): %v", pid, limit, errno)
	}
}

// TestSQLiteDiskFullIsA503AndCorruptsNothing fills the disk under a server
// on SQLite during a write load: writes are refused with 503 JSON errors,
// reads go on, the server stays up, and once space is back writes succeed
// again without a restart; every acknowledged write is there, nothing is
// half-written, and the file is intact. The disk fills up two ways: a
// file size limit on the server process (RLIMIT_FSIZE: writes past it fail
// with EFBIG, SQLite's SQLITE_IOERR), and, where the test may mount file
// systems, a real full tmpfs (ENOSPC, SQLITE_FULL).
func TestSQLiteDiskFullIsA503AndCorruptsNothing(t *testing.T) {
	t.Run("file size limit", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "strata.db")
		diskFullTest(t, file, func(pid int) {
			var biggest int64
			for _, f := range []string{file, file + "-wal"} {
				if st, err := os.Stat(f); err == nil {
					biggest = max(biggest, st.Size())
				}
			}
			setFileSizeLimit(t, pid, uint64(biggest+512<<10))
		}, func(pid int) {
			setFileSizeLimit(t, pid, ^uint64(0))
		})
	})
	t.Run("full tmpfs", func(t *testing.T) {
		dir := t.TempDir()
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
			t.Skipf("cannot mount a tmpfs here: %v", err)
		}
		t.Cleanup(func() {
			if err := syscall.Unmount(dir, 0); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		})
		resize := func(size string) {
			if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size="+size); err != nil {
				t.Fatalf("remount %s with size=%s: %v", dir, size, err)
			}
		}
		diskFullTest(t, filepath.Join(dir, "strata.db"), func(int) {
			var st syscall.Statfs_t
			if err := syscall.Statfs(dir, &st); err != nil {
				t.Fatal(err)
			}
			used := (st.Blocks - st.Bfree) * uint64(st.Bsize)
			resize(strconv.FormatUint(used+512<<10, 10))
		}, func(int) { resize("64m") })
	})
}

// diskFullTest is TestSQLiteDiskFullIsA503AndCorruptsNothing on the SQLite
// file file, with fill and free filling the disk under the server process
// pid and making space again.
func diskFullTest(t *testing.T, file string, fill, free func(pid int)) {
	dbURL := "sqlite:" + file
	p := startProc(t, procOptions{}, "--db", dbURL)
	if p.key == "" {
		t.Fatalf("no first-start key:\n%s", p.log)
	}
	c := p.client(p.key, 10*time.Second)
	acked := newAckSet()
	for i := range 10 {
		if r := createProject(context.Background(), c, fmt.Sprintf("before-%d", i), acked); r.Status != http.StatusCreated {
			t.Fatalf("create: %v", r)
		}
	}
	fill(p.pid())

	var mu sync.Mutex
	var unexpected []string
	description := strings.Repeat("the disk fills up. ", 100)
	load := loadgen.Start(loadgen.Config{Workers: 3, MaxOps: 3000}, func(ctx context.Context, w, i int) loadgen.Response {
		var r loadgen.Response
		if i%4 == 3 {
			r = c.Do(ctx, "GET", "/v1/orgs/acme/projects?limit=5", "")
			if r.Status == http.StatusOK {
				return r
			}
		} else {
			name := fmt.Sprintf("full-w%d-%d", w, i)
			r = c.Do(ctx, "POST", "/v1/orgs/acme/projects", fmt.Sprintf(`{"name":%q,"description":%q}`, name, description))
			switch {
			case r.Status == http.StatusCreated:
				var pr apiProject
				if err := json.Unmarshal(r.Body, &pr); err == nil {
					acked.add(name, pr.ID)
					return r
				}
			case isUnavailable(r):
				return r
			}
		}
		mu.Lock()
		unexpected = append(unexpected, r.String())
		mu.Unlock()
		return r
	})
	// The writes that fit are acknowledged; then every write is refused.
	load.WaitFor(30*time.Second, func(s loadgen.Stats) bool {
		mu.Lock()
		defer mu.Unlock()
		return s.Count(http.StatusServiceUnavailable) >= 30 || len(unexpected) > 0
	})
	stats := load.Stop()
	t.Logf("load while the disk filled up: %v", stats)
	mu.Lock()
	bad := unexpected
	mu.Unlock()
	for i, u := range bad {
		if i == 5 {
			t.Errorf("... and %d more", len(bad)-5)
			break
		}
		t.Errorf("unexpected answer: %s", u)
	}
	if len(bad) > 0 {
		t.FailNow()
	}
	if stats.Count(http.StatusServiceUnavailable) < 30 {
		t.Fatalf("the disk never filled up: %v\n%s", stats, tail(p.log.String(), 20))
	}
	if stats.TransportErrors+stats.Timeouts > 0 {
		t.Errorf("%d requests got no answer: %v", stats.TransportErrors+stats.Timeouts, stats)
	}
	for _, path := range []string{"/healthz", "/v1/orgs/acme/projects?limit=1"} {
		if r := c.Do(context.Background(), "GET", path, ""); r.Status != http.StatusOK {
			t.Errorf("GET %s on a full disk: %v", path, r)
		}
	}
	if !strings.Contains(p.log.String(), "service unavailable") {
		t.Errorf("the server log does not say why writes fail:\n%s", tail(p.log.String(), 10))
	}

	// Space is back: writes succeed again, without a restart.
	free(p.pid())
	if !eventually(10*time.Second, func() bool {
		return createProject(context.Background(), c, fmt.Sprintf("after-%d", time.Now().UnixNano()), acked).Status == http.StatusCreated
	}) {
		t.Fatalf("writes still fail once space is back:\n%s", tail(p.log.String(), 10))
	}
	checkNothingHalfWritten(t, c, acked.snapshot())
	if code := p.terminate(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
	checkSQLiteIntegrity(t, file)
	if out, errOut, code := runStrata(t, "audit", "verify", "--db", dbURL, "--org", "acme"); code != 0 {
		t.Errorf("strata audit verify: exit %d: %s %s", code, out, errOut)
	}
}

// TestSQLiteReadOnlyDatabaseIsAClearStartupError serves a database file
// the server may not write, as a user without write permission on it: with
// the directory read-only too, and with only the file read-only. Either is
// an error at startup that says so (no panic, no server that answers every
// write 503), and the file is intact afterwards.
func TestSQLiteReadOnlyDatabaseIsAClearStartupError(t *testing.T) {
	// A directory any user may enter, holding the binary and the database.
	root, err := os.MkdirTemp("", "strata-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	dbDir := filepath.Join(root, "db")
	for _, d := range []string{root, dbDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dbDir, "strata.db")
	dbURL := "sqlite:" + file

	p := startProc(t, procOptions{}, "--db", dbURL)
	c := p.client(p.key, 10*time.Second)
	acked := newAckSet()
	for i := range 5 {
		if r := createProject(context.Background(), c, fmt.Sprintf("kept-%d", i), acked); r.Status != http.StatusCreated {
			t.Fatalf("create: %v", r)
		}
	}
	key := p.key
	if code := p.terminate(); code != 0 {
		t.Fatalf("exit code after SIGTERM = %d", code)
	}

	// As root, whom permissions do not stop, run the server as another
	// user; otherwise take the write permission away.
	var opts procOptions
	if os.Geteuid() == 0 {
		opts.cred = unprivileged(t)
		opts.bin = filepath.Join(root, "strata") // where that user may run it
		copyFile(t, strataBinary(t), opts.bin, 0o755)
	}
	for _, tc := range []struct {
		name          string
		fileMode, dir os.FileMode
	}{
		{"read-only file and directory", 0o444, 0o555},
		{"read-only file", 0o444, 0o777},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.Chmod(file, tc.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dbDir, tc.dir); err != nil {
				t.Fatal(err)
			}
			defer os.Chmod(dbDir, 0o755)
			defer os.Chmod(file, 0o644)
			proc, err := launchProc(t, opts, "--db", dbURL)
			if err == nil {
				r := proc.client(key, 10*time.Second).Do(context.Background(), "POST", "/v1/orgs/acme/projects", `{"name":"not-kept"}`)
				proc.kill()
				t.Fatalf("the server started on a read-only database (a write got %v):\n%s", r, proc.log)
			}
			msg := err.Error()
			if !strings.Contains(msg, "exit status 2") || !strings.Contains(msg, "readonly database") {
				t.Errorf("want exit 2 and a message naming the read-only database, got:\n%s", msg)
			}
			if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine ") {
				t.Errorf("the server panicked:\n%s", msg)
			}
		})
	}

	// Writable again: the file is intact and holds what it held.
	checkSQLiteIntegrity(t, file)
	p = startProc(t, procOptions{}, "--db", dbURL)
	projects := checkNothingHalfWritten(t, p.client(key, 10*time.Second), acked.snapshot())
	if len(projects) != len(acked.snapshot()) {
		t.Errorf("%d projects, want %d", len(projects), len(acked.snapshot()))
	}
	if code := p.terminate(); code != 0 {
		t.Errorf("exit code after SIGTERM = %d", code)
	}
}

// unprivileged returns the credentials of a user without write permission
// on root's files: nobody, or postgres.
func unprivileged(t *testing.T) *syscall.Credential {
	t.Helper()
	for _, name := range []string{"nobody", "postgres"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil && uid != 0 {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
		}
	}
	t.Skip("running as root, and no unprivileged user (nobody, postgres) to run the server as")
	return nil
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
