package parleyserver

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// ExportHistory asks for the history file of one UTC hour
// (GET /chatmessages/{yyyyMMddHH}) and returns its download link: a gzip
// file of one JSON record per message (msg_id, timestamp, direction, to,
// from, chat_type, payload {bodies, ext, from, to}).
func (c *Client) ExportHistory(ctx context.Context, hour time.Time) (string, error) {
	var out []struct {
		URL string `json:"url"`
	}
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/chatmessages/" + hour.UTC().Format("2006010215")}, &out)
	if err != nil {
		return "", err
	}
	if len(out) == 0 {
		return "", invalid("the server answered without a url")
	}
	return out[0].URL, nil
}

// ImportMessage is one historical message to import.
type ImportMessage struct {
	From   string          `json:"from"`
	Target string          `json:"target"`
	Type   string          `json:"type"`
	Body   json.RawMessage `json:"body"`
	Ext    json.RawMessage `json:"ext,omitempty"`
	// Timestamp is the original time in Unix ms (0: now). A conversation's
	// messages must be imported in timestamp order.
	Timestamp int64 `json:"msg_timestamp,omitempty"`
	// AckRead marks a 1:1 message read by its recipient.
	AckRead bool `json:"is_ack_read,omitempty"`
}

// ImportUserMessage imports a 1:1 message (Target: the recipient) and
// returns its new ID. Never retried: a repeat would import it twice.
func (c *Client) ImportUserMessage(ctx context.Context, m ImportMessage) (string, error) {
	return c.importMessage(ctx, "/messages/users/import", m)
}

// ImportGroupMessage imports a group message (Target: the group ID).
func (c *Client) ImportGroupMessage(ctx context.Context, m ImportMessage) (string, error) {
	return c.importMessage(ctx, "/messages/chatgroups/import", m)
}

func (c *Client) importMessage(ctx context.Context, path string, m ImportMessage) (string, error) {
	if err := need("from", m.From, "target", m.Target, "type", m.Type); err != nil {
		return "", err
	}
	var out struct {
		MsgID string `json:"msg_id"`
	}
	_, err := c.data(ctx, &request{method: http.MethodPost, path: path, body: m}, &out)
	return out.MsgID, err
}
