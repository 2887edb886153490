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

// setSmallSocket gives a socket, before it connects, a receive buffer of
// rcvBuf bytes (SO_RCVBUF; the kernel doubles it and no longer autotunes
// it) and, if maxSeg > 0, a maximum segment size (TCP_MAXSEG, announced to
// the server): the server sizes its send buffer from the segment size, so
// on loopback (64 KiB segments) it would otherwise hold megabytes for a
// client that stops reading.
func setSmallSocket(fd uintptr, rcvBuf, maxSeg int) error {
	if err := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf); err != nil {
		return err
	}
	if maxSeg > 0 {
		return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, maxSeg)
	}
	return nil
}
