package pgtest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// platformSupported reports whether ephemeral clusters can be started on
// this operating system.
const platformSupported = true

// serverUser returns the account PostgreSQL processes run as. The server
// refuses to run as root, so when we are root the processes run as the
// "postgres" OS user; otherwise they run as the current user.
func serverUser() (account, error) {
	if os.Geteuid() != 0 {
		return account{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return account{}, errors.New("running as root, but there is no \"postgres\" OS user to run the server as: " + err.Error())
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return account{}, err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return account{}, err
	}
	return account{uid: uid, gid: gid, switchTo: true}, nil
}

// sysProcAttr returns the process attributes for a PostgreSQL child
// process: run as a, get SIGQUIT (PostgreSQL's "immediate shutdown") when
// the thread that started it dies, and sit in its own process group so that
// terminal signals aimed at the test go only to the test.
//
// Go applies the credentials before setting the parent-death signal, which
// matters because the kernel clears that signal on a credential change.
func sysProcAttr(a account) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if a.switchTo {
		attr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid)}
	}
	return attr
}

// spawnRequests carries work to the spawning thread (see startCmd).
var (
	spawnOnce     sync.Once
	spawnRequests = make(chan func())
)

// startCmd starts cmd from a dedicated OS thread that lives as long as the
// process. The kernel sends the parent-death signal when the *thread* that
// forked a child exits, not the process; Go ends a thread when a goroutine
// locked to it exits, so starting from an arbitrary goroutine could kill
// the server in the middle of a test.
func startCmd(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread never exits
			for f := range spawnRequests {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnRequests <- func() { errc <- cmd.Start() }
	return <-errc
}

// killTree kills the postmaster pid and its direct children (the backends
// and auxiliary processes) with SIGKILL, simulating a crash, and waits up
// to a few seconds for the children to be gone so that a restart does not
// find the old shared memory segment still attached.
func killTree(pid int) {
	// Freeze the postmaster so that it cannot fork while we list its
	// children; SIGKILL works on stopped processes. The kernel delivers
	// SIGSTOP asynchronously: until the postmaster is seen stopped it may
	// still fork a backend (for a connection arriving just then) that the
	// listing would miss, and that, orphaned, would keep the old shared
	// memory attached and make every restart fail.
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, state, ok := procStat(pid); !ok || state == 'T' {
			break
		}
	}
	children := childPIDs(pid)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for _, c := range children {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, c := range children {
		for processAlive(c) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// childPIDs lists the processes whose parent is pid.
func childPIDs(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(p); ok && ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// procStat returns the parent pid and state letter of process pid.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// Format: "pid (comm) state ppid ..."; comm may contain spaces and
	// parentheses, so parse from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(string(f[1]))
	if err != nil {
		return 0, 0, false
	}
	return ppid, f[0][0], true
}

// processAlive reports whether pid names a live (not zombie) process.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if _, state, ok := procStat(pid); ok && (state == 'Z' || state == 'X') {
		return false
	}
	return true
}

// fileUID returns the owner of a file, or -1 if unknown.
func fileUID(info os.FileInfo) int {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// killGroup kills every process of the process group pgid with SIGKILL.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// groupAlive reports whether a process of the process group pgid is left.
func groupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
