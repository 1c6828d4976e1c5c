package pgcluster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts the child in its own process group, so a terminal Ctrl-C
// (SIGINT to the foreground group) reaches only us and we can stop the
// server in order, and asks the kernel to send SIGINT (PostgreSQL's "fast
// shutdown") to the child when we die, even by SIGKILL, so no orphan server
// keeps the data folder and port. Go applies Pdeathsig after dropping
// credentials, so it survives the switch to RunAs. Pdeathsig fires when the
// forking OS thread exits, hence the dedicated goroutine in Cluster.run.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGINT,
		Credential: cred,
	}
}

// postmasterAlive reports whether pid is alive and plausibly the postmaster
// of dataDir. A stale postmaster.pid whose pid was reused by an unrelated
// process (common after a container restart) reports false.
func postmasterAlive(pid int, dataDir string) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return false
	}
	proc := "/proc/" + strconv.Itoa(pid)
	// The postmaster chdirs into its data directory.
	if cwd, err := os.Readlink(proc + "/cwd"); err == nil {
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		real, err := filepath.EvalSymlinks(dataDir)
		if err != nil {
			real = dataDir
		}
		return cwd == real || cwd == dataDir
	}
	if b, err := os.ReadFile(proc + "/cmdline"); err == nil {
		argv0, _, _ := strings.Cut(string(b), "\x00")
		base := filepath.Base(argv0)
		return base == "postgres" || base == "postmaster"
	}
	return true
}
