package pgtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// BinDirEnv names the environment variable that, when set, gives the
// directory holding the PostgreSQL server binaries (postgres, initdb,
// pg_basebackup). By default /usr/lib/postgresql/15/bin is used, then the
// directory of a "postgres" binary found on $PATH.
const BinDirEnv = "STRATA_TEST_POSTGRES_BIN"

// TempDirEnv names the environment variable that, when set, gives the
// directory under which clusters keep their files, instead of
// os.TempDir(). Pointing it to a tmpfs such as /dev/shm makes creating
// clusters and databases several times faster, at the cost of memory
// (roughly 50 MB per cluster, plus up to about 400 MB of WAL and the data
// written). The server's OS user must be able to traverse the directory.
const TempDirEnv = "STRATA_TEST_POSTGRES_TMPDIR"

// baseDir returns the directory under which clusters keep their files.
func baseDir() string {
	if d := os.Getenv(TempDirEnv); d != "" {
		return d
	}
	return os.TempDir()
}

const (
	defaultBinDir = "/usr/lib/postgresql/15/bin"
	// tempPrefix starts the name of every per-cluster temporary directory;
	// the creating process's pid follows so stale ones can be found.
	tempPrefix = "strata-pgtest-"
	// cachePrefix starts the name of the cached initdb output.
	cachePrefix = "strata-pgcache-"
)

// account is the OS user PostgreSQL processes run as.
type account struct {
	uid, gid int
	// switchTo is set when the processes must switch to this user (we are
	// root); files we create for them must then be chowned to it.
	switchTo bool
}

// chown gives path to the account if processes switch to it.
func (a account) chown(path string) error {
	if !a.switchTo {
		return nil
	}
	return os.Lchown(path, a.uid, a.gid)
}

// env is what is needed to run PostgreSQL binaries on this machine.
type env struct {
	binDir string
	user   account
}

// loadEnv finds the binaries and the server account once per process.
var loadEnv = sync.OnceValues(func() (*env, error) {
	if !platformSupported {
		_, err := serverUser()
		return nil, err
	}
	dir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	u, err := serverUser()
	if err != nil {
		return nil, err
	}
	go sweepStale()
	return &env{binDir: dir, user: u}, nil
})

// findBinDir locates the directory of the PostgreSQL server binaries.
func findBinDir() (string, error) {
	var candidates []string
	if d := os.Getenv(BinDirEnv); d != "" {
		candidates = []string{d}
	} else {
		candidates = []string{defaultBinDir}
		if p, err := exec.LookPath("postgres"); err == nil {
			candidates = append(candidates, filepath.Dir(p))
		}
	}
	for _, d := range candidates {
		ok := true
		for _, b := range []string{"postgres", "initdb", "pg_basebackup"} {
			if st, err := os.Stat(filepath.Join(d, b)); err != nil || st.IsDir() {
				ok = false
				break
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (postgres, initdb, pg_basebackup) not found in %s; set %s",
		strings.Join(candidates, " or "), BinDirEnv)
}

// command prepares a PostgreSQL binary to run as the server account in
// directory dir, with the PG* variables of our environment removed so that
// they cannot change what the tools do.
func (e *env) command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(e.binDir, name), args...)
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr(e.user)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// run runs a PostgreSQL tool to completion, returning its output in the
// error if it fails.
func (e *env) run(ctx context.Context, dir, name string, args ...string) error {
	cmd := e.command(ctx, dir, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := startCmd(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		return fmt.Errorf("%s failed: %w\n%s", name, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

// tempDir creates a new private directory under baseDir owned by the
// server account. Its name carries our pid so that sweepStale can remove it
// should this process die without cleaning up.
func (e *env) tempDir() (string, error) {
	dir, err := os.MkdirTemp(baseDir(), tempPrefix+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return "", err
	}
	if err := e.user.chown(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// initdbArgs are the arguments (after -D DIR) that initdb runs with; they
// are part of the cache key.
var initdbArgs = []string{"--no-sync", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C"}

// hbaReplication lets a replica stream from the cluster without a password.
const hbaReplication = "host replication all 127.0.0.1/32 trust"

// initdb creates a new cluster's data directory dst.
func (e *env) initdb(ctx context.Context, dst string) error {
	parent := filepath.Dir(dst)
	if err := e.run(ctx, parent, "initdb", append([]string{"-D", dst}, initdbArgs...)...); err != nil {
		return err
	}
	hba := filepath.Join(dst, "pg_hba.conf")
	b, err := os.ReadFile(hba)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Join(strings.Fields(line), " ") == hbaReplication {
			return nil
		}
	}
	f, err := os.OpenFile(hba, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\n%s\n", hbaReplication)
	return errors.Join(err, f.Close())
}

// initDataDir creates a new cluster's data directory dst (whose parent
// must exist). initdb is slow (over a second), so its output is cached in
// the base directory (see TempDirEnv), shared by all test processes of this user and PostgreSQL
// build, and copied for each cluster.
func (e *env) initDataDir(ctx context.Context, dst string) error {
	if src := e.pristine(ctx); src != "" {
		err := copyTree(src, dst, e.user)
		if err == nil {
			return nil
		}
		os.RemoveAll(dst)
	}
	return e.initdb(ctx, dst)
}

var pristineMu sync.Mutex

// pristine returns the cached initdb output, creating it if needed, or ""
// if no cache can be used (the caller then runs initdb itself).
func (e *env) pristine(ctx context.Context) string {
	pristineMu.Lock()
	defer pristineMu.Unlock()

	st, err := os.Stat(filepath.Join(e.binDir, "postgres"))
	if err != nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\x00%q", e.binDir, st.Size(), st.ModTime().UnixNano(), e.user.uid, initdbArgs)
	path := filepath.Join(baseDir(), cachePrefix+hex.EncodeToString(h.Sum(nil))[:16])
	if e.validCache(path) {
		return path
	}

	tmp, err := e.tempDir()
	if err != nil {
		return ""
	}
	defer os.RemoveAll(tmp)
	data := filepath.Join(tmp, "data")
	if err := e.initdb(ctx, data); err != nil {
		return ""
	}
	// Publish atomically. If another process won the race, use its copy.
	_ = os.Rename(data, path)
	if e.validCache(path) {
		return path
	}
	return ""
}

// validCache reports whether path looks like a complete data directory
// that belongs to the server account and nobody else can have tampered
// with.
func (e *env) validCache(path string) bool {
	st, err := os.Lstat(path)
	if err != nil || !st.IsDir() || st.Mode().Perm()&0o077 != 0 {
		return false
	}
	if fileUID(st) != e.user.uid {
		return false
	}
	_, err = os.Stat(filepath.Join(path, "global", "pg_control"))
	return err == nil
}

// copyTree copies the directory tree src to dst (which must not exist),
// preserving permission bits and giving everything to owner.
func copyTree(src, dst string, owner account) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, 0o700); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
			return owner.chown(target)
		case d.Type().IsRegular():
			if err := copyFile(path, target); err != nil {
				return err
			}
		default:
			return nil // sockets and the like have no business here
		}
		if err := os.Chmod(target, info.Mode().Perm()); err != nil {
			return err
		}
		return owner.chown(target)
	})
}

// copyFile copies the contents of regular file src to the new file dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// sweepStale removes temporary directories left behind by test processes
// that died without cleaning up (their clusters died with them, by the
// parent-death signal). A directory is only removed when both the process
// that created it and the postmaster recorded in it are gone.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(baseDir(), tempPrefix+"*"))
	for _, dir := range dirs {
		rest := strings.TrimPrefix(filepath.Base(dir), tempPrefix)
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if pm, err := strconv.Atoi(strings.TrimSpace(first)); err != nil || processAlive(pm) {
				continue
			}
		}
		_ = os.RemoveAll(dir)
	}
}
