//go:build !linux

package pgtest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// platformSupported reports whether ephemeral clusters can be started on
// this operating system. Only Linux has the parent-death signal that ties
// the server's lifetime to the test process; elsewhere only an external
// server (STRATA_TEST_POSTGRES_URL) can be used.
const platformSupported = false

func serverUser() (account, error) {
	return account{}, errors.New("ephemeral PostgreSQL clusters are only supported on Linux; set " + URLEnv)
}

func sysProcAttr(account) *syscall.SysProcAttr { return nil }

func killTree(int) {}

func processAlive(int) bool { return true }

func fileUID(os.FileInfo) int { return -1 }

func startCmd(cmd *exec.Cmd) error { return cmd.Start() }

func killGroup(int) {}

func groupAlive(int) bool { return false }
