package parley

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/parleyim/parley/protocol"
)

// restCall is a JSON call to the REST API made as this user.
type restCall struct {
	// what names the call in errors ("push binding").
	what   string
	method string
	// path is the address below /{org}/{app}, one segment each (escaped
	// when the URL is built).
	path []string
	// body is sent as JSON; nil sends none.
	body any
	// prefer are the error kinds this call expects, to tell apart kinds
	// that share an Easemob error string (restError).
	prefer []protocol.ErrorKind
}

// maxRESTAnswer bounds what is read of a REST answer.
const maxRESTAnswer = 1 << 20

// rest makes a REST call with this user's token and decodes a 200 answer
// into out (nil: the answer is dropped). Failures the server reports are
// *Error. A refused token is replaced through the password grant (when the
// Client has a password) and the call made once more: every call made
// through rest is safe to repeat. Cancelling ctx, or closing the Client,
// ends the call with ctx.Err() (ErrClosed).
func (c *Client) rest(ctx context.Context, rc restCall, out any) error {
	var body []byte
	if rc.body != nil {
		var err error
		if body, err = json.Marshal(rc.body); err != nil {
			return fmt.Errorf("parley: %s: %w", rc.what, err)
		}
	}
	if err := c.Err(); err != nil {
		return err
	}
	parent := ctx
	ctx, stop := c.bind(ctx)
	defer stop()
	for attempt := 0; ; attempt++ {
		base, token, err := c.restAuth(ctx)
		if err != nil {
			return c.endErr(parent, ctx, err)
		}
		err = c.restOnce(ctx, rc, apiURL(base, c.cfg.Org, c.cfg.App, rc.path...), token, body, out)
		if attempt == 0 && IsCode(err, protocol.ErrBadAccessToken) && c.canRefresh() {
			c.dropToken(token)
			c.log.Info("the server refused the token for a REST call; getting a new one", "call", rc.what)
			continue
		}
		return c.endErr(parent, ctx, err)
	}
}

func (c *Client) restOnce(ctx context.Context, rc restCall, u, token string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, rc.method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("parley: %s: %w", rc.what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return responseError(resp, rc.what, rc.prefer...)
	}
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxRESTAnswer))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxRESTAnswer)).Decode(out); err != nil {
		return fmt.Errorf("parley: %s: reading the answer: %w", rc.what, err)
	}
	return nil
}
