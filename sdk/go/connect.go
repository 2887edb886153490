package parley

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/protocol"
)

// reconnect connects and resyncs with backoff, rotating endpoints, until it
// succeeds, the Client is closed, or the failure is terminal.
func (c *Client) reconnect() (*conn, error) {
	for attempt := 0; ; attempt++ {
		t := time.NewTimer(backoff(attempt, c.cfg.BackoffMin, c.cfg.BackoffMax, jitter()))
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return nil, ErrClosed
		}
		c.rotate()
		cn, err := c.connect(c.ctx)
		if err == nil {
			if err = c.resync(c.ctx, cn); err == nil {
				c.setReady(cn)
				c.events.put(ConnectionEvent{State: Resynced}, nil)
				return cn, nil
			}
			cn.close("sync failed")
			err = c.connError(cn, err)
		}
		if c.ctx.Err() != nil {
			return nil, ErrClosed
		}
		if terminal(err) {
			return nil, err
		}
		c.log.Info("reconnect failed", "attempt", attempt+1, "err", err)
	}
}

// connError turns a request failure on a closed connection into the close
// the server sent, when it was terminal.
func (c *Client) connError(cn *conn, err error) error {
	if !errors.Is(err, errConnClosed) {
		return err
	}
	<-cn.done
	if info := cn.ended(); terminalClose(info.code) {
		return &CloseError{Code: info.code, Reason: info.reason}
	} else if info.reason != "" {
		return fmt.Errorf("parley: connection closed (%d %s): %w", info.code, info.reason, err)
	}
	return err
}

// terminal reports whether a connection failure must not be retried: a
// terminal close, or a definite refusal (bad token or password, unknown app,
// device limit).
func terminal(err error) bool {
	var ce *CloseError
	if errors.As(err, &ce) {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case protocol.ErrInternal.ID, protocol.ErrUnavailable.ID, protocol.ErrRateLimited.ID, protocol.ErrConflict.ID:
		return false
	}
	return !strings.HasPrefix(e.Code, "http_5")
}

// rotate moves to the next endpoint.
func (c *Client) rotate() {
	c.mu.Lock()
	c.endpoint = (c.endpoint + 1) % len(c.endpoints)
	c.mu.Unlock()
}

// connect opens an authenticated connection to the current endpoint. A
// refused token is replaced once through the password grant, if the Config
// has a password.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if f := c.hooks.beforeDialFn(); f != nil {
		if err := f(); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	base, token := c.endpoints[c.endpoint], c.token
	c.mu.Unlock()
	fresh := false
	if token == "" {
		var err error
		if token, err = c.newToken(ctx, base); err != nil {
			return nil, err
		}
		fresh = true
	}
	cn, err := c.open(ctx, base, token)
	if IsCode(err, protocol.ErrBadAccessToken) && c.canRefresh() && !fresh {
		c.log.Info("the server refused the token; getting a new one")
		if token, err = c.newToken(ctx, base); err != nil {
			return nil, err
		}
		cn, err = c.open(ctx, base, token)
	}
	return cn, err
}

// canRefresh reports whether the Client can get tokens itself.
func (c *Client) canRefresh() bool { return c.cfg.Username != "" && c.cfg.Password != "" }

// newToken gets and keeps a user token.
func (c *Client) newToken(ctx context.Context, base string) (string, error) {
	tok, err := fetchToken(ctx, c.cfg.HTTPClient, base, c.cfg.Org, c.cfg.App, c.cfg.Username, c.cfg.Password)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return tok, nil
}

// open dials, starts the read loop and authenticates.
func (c *Client) open(ctx context.Context, base, token string) (*conn, error) {
	u, err := wsURL(base)
	if err != nil {
		return nil, err
	}
	d := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: connectTimeout, TLSClientConfig: c.cfg.wsTLSConfig()}
	ws, resp, err := d.DialContext(ctx, u, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("parley: websocket handshake with %s: %s", u, resp.Status)
		}
		return nil, fmt.Errorf("parley: websocket dial %s: %w", u, err)
	}
	ws.SetReadLimit(readLimit)
	cn := newConn(ws, c.log, c.nextID, c.onPush)
	cn.dropReply = func(req *protocol.Request) bool {
		f := c.hooks.dropReplyFn()
		return f != nil && f(req)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		cn.readLoop()
	}()

	c.mu.Lock()
	resource := c.resource
	c.mu.Unlock()
	r, err := cn.request(ctx, &protocol.Request{T: protocol.FrameAuth, Token: token, Resource: resource,
		Platform: c.cfg.Platform, DeviceName: c.cfg.DeviceName})
	var ok protocol.AuthOK
	if err == nil {
		err = r.decode(&ok)
	}
	if err != nil {
		cn.close("auth failed")
		return nil, c.connError(cn, err)
	}
	c.mu.Lock()
	c.user, c.resource = ok.User, ok.Resource
	c.mu.Unlock()
	// The server forgets the background state with each session: restore
	// it before anything else, since messages that arrive while the
	// session is in the foreground are not pushed.
	if err := c.restoreBackground(ctx, cn); err != nil {
		cn.close("background state not restored")
		return nil, c.connError(cn, err)
	}
	every := time.Duration(ok.Heartbeat) * time.Second
	if every <= 0 {
		every = defaultHeartbeat
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.heartbeat(cn, every)
	}()
	c.log.Info("connected", "url", u, "user", ok.User, "resource", ok.Resource)
	c.events.put(ConnectionEvent{State: Connected, Resource: ok.Resource}, nil)
	return cn, nil
}

// heartbeat pings every interval and drops the connection when a pong does
// not come back in time.
func (c *Client) heartbeat(cn *conn, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-cn.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.hooks.pong())
		_, err := cn.request(ctx, &protocol.Request{T: protocol.FramePing})
		cancel()
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			c.log.Info("no pong in time; dropping the connection")
			cn.abort("no pong in time")
			return
		case errors.Is(err, errConnClosed), c.ctx.Err() != nil:
			return
		}
	}
}
