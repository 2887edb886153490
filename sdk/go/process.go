package parley

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parleyim/parley/protocol"
)

// onPush queues a frame that answers no request; it runs on a read loop.
func (c *Client) onPush(t string, data []byte) {
	switch t {
	case protocol.FrameItem:
		var f protocol.ItemFrame
		if json.Unmarshal(data, &f) == nil && f.Item != nil {
			if f.Item.ChatType == protocol.ChatTypeRoom {
				// Not stored, no seq: not part of any conversation stream.
				c.pushes.add(push{roomItem: f.Item})
			} else {
				c.pushes.add(push{item: f.Item})
			}
			return
		}
	case protocol.FrameReceipt:
		var r protocol.Receipt
		if json.Unmarshal(data, &r) == nil {
			c.pushes.add(push{receipt: &r})
			return
		}
	case protocol.FrameConv:
		var f protocol.ConvFrame
		if json.Unmarshal(data, &f) == nil && f.Conversation != nil {
			c.pushes.add(push{conv: f.Conversation})
			return
		}
	case protocol.FrameEvent:
		var f protocol.EventFrame
		if json.Unmarshal(data, &f) == nil && f.Event != nil {
			c.pushes.add(push{event: f.Event})
			return
		}
	case protocol.FrameRoomEvent:
		var f protocol.RoomEventFrame
		if json.Unmarshal(data, &f) == nil && f.Event != nil {
			c.pushes.add(push{roomEvent: f.Event})
			return
		}
	case protocol.FrameError:
		var e protocol.Error
		if json.Unmarshal(data, &e) == nil {
			c.log.Warn("the server reported an error", "code", e.Code, "message", e.Message)
			return
		}
	default:
		c.log.Debug("ignoring a frame of unknown kind", "t", t)
		return
	}
	c.log.Warn("ignoring a malformed frame", "t", t)
}

// serve processes pushes until the connection ends or the Client closes.
func (c *Client) serve(cn *conn) {
	for {
		select {
		case <-cn.done:
			return
		case <-c.ctx.Done():
			cn.close("client closed")
			return
		case <-c.pushes.notify:
		}
		if err := c.process(c.ctx, cn); err != nil && !errors.Is(err, errConnClosed) && c.ctx.Err() == nil {
			c.log.Warn("processing pushes failed", "err", err)
		}
	}
}

// process handles the queued pushes, in order.
func (c *Client) process(ctx context.Context, cn *conn) error {
	batch, overflow := c.pushes.take()
	pull := c.puller(cn)
	eventsDue := false
	for i, p := range batch {
		switch {
		case p.item != nil:
			if err := c.stream.apply(ctx, pull, p.item); err != nil {
				if errors.Is(err, errConnClosed) || ctx.Err() != nil {
					// Keep the rest for the next connection (after its sync).
					c.pushes.requeue(batch[i:])
					return err
				}
				c.log.Warn("could not fill a gap", "conv_id", p.item.ConvID, "err", err)
			}
		case p.receipt != nil:
			c.events.put(ReceiptEvent{Receipt: p.receipt}, nil)
		case p.conv != nil:
			c.convChanged(p.conv, false)
		case p.event != nil:
			eventsDue = c.onEvent(p.event) || eventsDue
		case p.eventsDue:
			eventsDue = true
		case p.roomItem != nil:
			c.roomMessage(p.roomItem)
		case p.roomEvent != nil:
			c.events.put(RoomEvent{p.roomEvent}, nil)
		}
	}
	if overflow {
		c.log.Warn("too many pushes waiting; resyncing")
		if err := c.resync(ctx, cn); err != nil {
			c.pushes.markOverflow()
			return err
		}
	} else if eventsDue && !c.evt.off {
		if err := c.syncEvents(ctx, cn); err != nil {
			return err // the next connection's resync fetches them
		}
	}
	c.flushDelivered(cn)
	return nil
}

// convChanged applies a conversation's state and reports it.
func (c *Client) convChanged(conv *protocol.Conversation, fromSync bool) {
	if conv.ClearedSeq > 0 {
		c.stream.skipTo(conv.ConvID, conv.ClearedSeq)
	}
	c.events.put(ConversationEvent{Conversation: conv, FromSync: fromSync}, nil)
}

// resync runs sync from the cursor, page by page, and pulls every changed
// conversation from its local seq. A new device (no cursor) takes each
// conversation's last seq as its own and gets only the recent items. Then
// it brings the people events up to date (syncEvents).
func (c *Client) resync(ctx context.Context, cn *conn) error {
	fresh := c.cursor == ""
	since := c.cursor
	pull := c.puller(cn)
	for {
		req := &protocol.Request{T: protocol.FrameSync, Since: since}
		if fresh {
			req.Latest = c.cfg.SyncLatest
		}
		r, err := cn.request(ctx, req)
		if err != nil {
			return err
		}
		var res protocol.SyncResult
		if err := r.decode(&res); err != nil {
			return err
		}
		for _, conv := range res.Conversations {
			if conv == nil || conv.ConvID == "" {
				continue
			}
			if fresh {
				c.stream.skipTo(conv.ConvID, conv.LastSeq)
				c.events.put(ConversationEvent{Conversation: conv, FromSync: true}, nil)
				continue
			}
			if conv.ClearedSeq > 0 {
				c.stream.skipTo(conv.ConvID, conv.ClearedSeq)
			}
			if conv.LastSeq > c.stream.seq.local(conv.ConvID) {
				var err error
				if conv.ChatType == protocol.ChatTypeGroup {
					err = c.stream.startGroup(ctx, pull, conv.ConvID, conv.LastSeq)
				}
				if err == nil {
					err = c.stream.catchUp(ctx, pull, conv.ConvID, conv.LastSeq)
				}
				if err != nil {
					if errors.Is(err, errConnClosed) || ctx.Err() != nil {
						return err
					}
					c.log.Warn("could not pull a conversation", "conv_id", conv.ConvID, "err", err)
				}
			}
			c.events.put(ConversationEvent{Conversation: conv, FromSync: true}, nil)
		}
		next := res.Next
		if next == "" {
			next = since
		}
		if next == "" {
			next = "0" // synced once: no longer a new device
		}
		c.cursor = next
		c.events.put(nil, func() { c.cfg.State.SetCursor(next) })
		if !res.More {
			break
		}
		if next == since {
			c.log.Warn("sync reported more without moving its cursor; stopping", "cursor", next)
			break
		}
		since = next
	}
	c.flushDelivered(cn)
	return c.syncEvents(ctx, cn)
}

// puller pulls over cn. A pull that gets no reply in time fails (and the
// conversation is left for the next gap or sync), so that one conversation
// the server cannot answer for does not stop the processing of all others.
func (c *Client) puller(cn *conn) puller {
	return func(ctx context.Context, convID string, after int64) ([]*protocol.Item, bool, error) {
		d := c.hooks.pull()
		pctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		r, err := cn.request(pctx, &protocol.Request{T: protocol.FramePull, ConvID: convID, AfterSeq: after, Limit: pullLimit})
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				return nil, false, fmt.Errorf("parley: no reply to a pull of conversation %s within %v", convID, d)
			}
			return nil, false, err
		}
		var res protocol.Items
		if err := r.decode(&res); err != nil {
			return nil, false, err
		}
		return res.Items, res.More, nil
	}
}

// flushDelivered sends the due delivered receipts over cn.
func (c *Client) flushDelivered(cn *conn) {
	for _, d := range c.rcpt.due() {
		cn.requestAsync(&protocol.Request{T: protocol.FrameDelivered, ConvID: d.convID, Seq: d.seq},
			func(r *reply, err error) {
				if err == nil {
					if e := r.asError(); e != nil {
						c.log.Debug("delivered receipt refused", "conv_id", d.convID, "err", e)
					}
				}
				// Only a lost connection makes the receipt due again.
				c.rcpt.done(d, err == nil)
			})
	}
}
