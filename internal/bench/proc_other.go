//go:build !linux

package bench

import "os/exec"

// setPdeathsig is Linux-only; elsewhere children rely on the bench's own
// cleanup (and workers exit when their stdin closes).
func setPdeathsig(*exec.Cmd) {}

// setSmallSocket is Linux-only; elsewhere sockets keep the system's
// buffers (a paused reader then holds more before the server sheds).
func setSmallSocket(uintptr, int, int) error { return nil }
