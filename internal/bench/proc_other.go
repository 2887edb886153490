//go:build !linux

package bench

import "os/exec"

// setPdeathsig is Linux-only; elsewhere children rely on the bench's own
// cleanup (and workers exit when their stdin closes).
func setPdeathsig(*exec.Cmd) {}
