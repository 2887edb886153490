package parleyserver

import (
	"context"
	"net/http"
)

// Broadcast is an app-wide message. Body holds the type's fields ("msg"
// for txt, and so on), sent flattened next to "type" as Easemob expects.
type Broadcast struct {
	From string
	Type string
	Body map[string]any
	Ext  map[string]any
	// Level is the chat room priority (room broadcasts only).
	Level string
}

func (b *Broadcast) body(targetType string) (map[string]any, error) {
	if b.Type == "" {
		return nil, invalid("broadcast type is empty")
	}
	msg := map[string]any{}
	for k, v := range b.Body {
		if k == "type" {
			return nil, invalid("the body must not hold a type field")
		}
		msg[k] = v
	}
	msg["type"] = b.Type
	out := map[string]any{"msg": msg}
	if b.From != "" {
		out["from"] = b.From
	}
	if b.Ext != nil {
		out["ext"] = b.Ext
	}
	if b.Level != "" {
		out["chatroom_msg_level"] = b.Level
	}
	if targetType != "" {
		out["target_type"] = targetType
	}
	return out, nil
}

func (c *Client) broadcast(ctx context.Context, path, targetType string, b Broadcast) (string, error) {
	body, err := b.body(targetType)
	if err != nil {
		return "", err
	}
	var d struct {
		ID string `json:"id"`
	}
	// Broadcasts are rate limited per app and have no idempotency key:
	// sent once, a 429 is returned (RetryAfter says when).
	_, err = c.data(ctx, &request{method: http.MethodPost, path: path, body: body}, &d)
	return d.ID, err
}

// BroadcastToRooms posts a message in every chat room (10 a minute, 100 a
// day per app) and returns its ID.
func (c *Client) BroadcastToRooms(ctx context.Context, b Broadcast) (string, error) {
	return c.broadcast(ctx, "/messages/chatrooms/broadcast", "", b)
}

// BroadcastToUsers sends a message to every user, kept 7 days for the
// offline ones (1 per 30 minutes, 3 a day per app).
func (c *Client) BroadcastToUsers(ctx context.Context, b Broadcast) (string, error) {
	if b.Level != "" {
		return "", invalid("level applies to room broadcasts only")
	}
	return c.broadcast(ctx, "/messages/broadcast", "users", b)
}

// BroadcastToOnlineUsers sends a message to the users online now, not
// stored (1 a minute, 50 a day per app).
func (c *Client) BroadcastToOnlineUsers(ctx context.Context, b Broadcast) (string, error) {
	if b.Level != "" {
		return "", invalid("level applies to room broadcasts only")
	}
	return c.broadcast(ctx, "/messages/users/broadcast", "", b)
}
