package parley

import "github.com/parleyim/parley/protocol"

// Test hooks for the external test package (e2e_test.go).

// SetDropReply makes the Client drop its connection when the reply to a
// request for which f returns true arrives: the request was written and
// processed by the server, the reply never reaches the Client.
func SetDropReply(c *Client, f func(req *protocol.Request) bool) {
	c.hooks.mu.Lock()
	c.hooks.dropReply = f
	c.hooks.mu.Unlock()
}

// SetBeforeDial runs f before each connection attempt; an error fails the
// attempt (use it to keep a Client offline).
func SetBeforeDial(c *Client, f func() error) {
	c.hooks.mu.Lock()
	c.hooks.beforeDial = f
	c.hooks.mu.Unlock()
}

// DropConnection breaks the current connection without a close frame.
func DropConnection(c *Client) {
	c.mu.Lock()
	cn := c.ready
	c.mu.Unlock()
	if cn != nil {
		cn.abort("test hook: connection dropped")
	}
}

// SetToken replaces the Client's user token (use it to make the server
// refuse the next REST call's token).
func SetToken(c *Client, token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

// Token returns the Client's user token.
func Token(c *Client) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}
