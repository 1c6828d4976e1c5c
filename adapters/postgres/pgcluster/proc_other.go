//go:build unix && !linux

package pgcluster

import "syscall"

// sysProcAttr: see proc_linux.go. Without Pdeathsig (Linux only) the server
// can outlive a SIGKILLed supervisor; the next Start then reports it as
// already running.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

func postmasterAlive(pid int, _ string) bool {
	if pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) != syscall.ESRCH
}
