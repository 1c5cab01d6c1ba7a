package pgtest_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-go/strata/internal/pgtest"
)

const helperEnv = "PGTEST_HELPER_PROCESS"

// TestHelperProcess is run by TestClusterDiesWithTestProcess in a child
// test process: it starts a cluster, reports it, and waits to be killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process for TestClusterDiesWithTestProcess")
	}
	c, err := pgtest.Start(context.Background())
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	pid, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	first, _, _ := strings.Cut(string(pid), "\n")
	fmt.Println("READY", first, c.Port(), filepath.Dir(c.DataDir()))
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestClusterDiesWithTestProcess checks that SIGKILLing a test process
// takes its cluster down.
func TestClusterDiesWithTestProcess(t *testing.T) {
	pgtest.SharedServer(t) // skip if PostgreSQL is unavailable
	if pgtest.SharedServer(t).Cluster() == nil {
		t.Skip("using an external server")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading helper output: %v", err)
	}
	var pid, port int
	var root string
	if _, err := fmt.Sscanf(line, "READY %d %d %s", &pid, &port, &root); err != nil {
		t.Fatalf("helper said %q", line)
	}
	defer os.RemoveAll(root)

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("postmaster %d still running 10 s after its test process was killed", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		c.Close()
		t.Errorf("something still listens on port %d", port)
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || !strings.HasPrefix(string(stat[i+1:]), " Z")
}
