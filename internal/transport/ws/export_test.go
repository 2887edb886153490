package ws

import "github.com/parleyim/parley/protocol"

// SetFrameHook sets the hook handle calls first; it returns a function that
// clears it.
func SetFrameHook(h func(*protocol.Request)) func() {
	frameHook = h
	return func() { frameHook = nil }
}
