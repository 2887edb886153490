//go:build linux

package bench

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel kill a child (server or worker) if the bench
// process dies without cleaning up.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
