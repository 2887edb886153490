package parley

import (
	"strconv"
	"strings"

	"github.com/parleyim/parley/protocol"
)

// The fake server's people events. Event IDs count up from 1001; a cursor
// is the last ID ("now": the newest), and a round that starts from a plain
// cursor goes back rewind IDs, as the real server goes back 30 seconds, so
// it returns events the device has. "c<id>" continues a round exactly.

// addEvent stores an event for user and pushes it to the user's
// connections but skip.
func (f *fakeServer) addEvent(user string, e protocol.Event, skip *fakeConn) *protocol.Event {
	f.mu.Lock()
	f.lastEventID++
	e.ID = strconv.FormatInt(f.lastEventID, 10)
	ev := &e
	f.events[user] = append(f.events[user], ev)
	push := f.noEventPush == nil || !f.noEventPush(ev)
	f.mu.Unlock()
	if push {
		for _, c := range f.connsOf(user) {
			if c != skip {
				c.send(protocol.EventFrame{T: protocol.FrameEvent, Event: ev})
			}
		}
	}
	return ev
}

// pushPresence pushes a live presence event to user's connections.
func (f *fakeServer) pushPresence(user string, p *protocol.Presence) {
	for _, c := range f.connsOf(user) {
		c.send(protocol.EventFrame{T: protocol.FrameEvent, Event: &protocol.Event{Kind: protocol.EventPresence, Presence: p}})
	}
}

func (f *fakeServer) people(c *fakeConn, req *protocol.Request) {
	ok := protocol.OK{T: protocol.FrameOK, ID: req.ID}
	switch req.T {
	case protocol.FrameEvents:
		f.mu.Lock()
		noEvents := f.noEvents
		f.mu.Unlock()
		if noEvents {
			c.send(protocol.Error{T: protocol.FrameError, ID: req.ID, Code: protocol.ErrUnknownFrame.ID})
			return
		}
		if res, ok := f.eventsAfter(c.user, req); ok {
			c.send(res)
		} else {
			c.send(protocol.Error{T: protocol.FrameError, ID: req.ID, Code: protocol.ErrIllegalArgument.ID, Message: "bad cursor"})
		}
	case protocol.FrameContactRequest:
		e := protocol.Event{Kind: protocol.EventContactRequest, From: c.user, To: req.To, Reason: req.Reason}
		f.addEvent(req.To, e, nil)
		f.addEvent(c.user, e, c)
		c.send(ok)
	case protocol.FrameBlock:
		f.addEvent(c.user, protocol.Event{Kind: protocol.EventBlocked, Users: req.Users}, c)
		c.send(ok)
	}
}

// eventsAfter answers an events request; false for a cursor it did not
// issue.
func (f *fakeServer) eventsAfter(user string, req *protocol.Request) (protocol.EventsResult, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	res := protocol.EventsResult{T: protocol.FrameEventsResult, ID: req.ID, Events: []*protocol.Event{}}
	if req.Since == "now" {
		res.Next = strconv.FormatInt(f.lastEventID, 10)
		return res, true
	}
	var after int64
	if req.Since != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(req.Since, "c"), 10, 64)
		if err != nil {
			return res, false
		}
		after = n
		if !strings.HasPrefix(req.Since, "c") {
			after = max(0, n-f.rewind)
		}
	}
	top := after
	for _, e := range f.events[user] {
		id, _ := strconv.ParseInt(e.ID, 10, 64)
		if id <= after {
			continue
		}
		if len(res.Events) == req.Limit {
			res.More = true
			break
		}
		res.Events = append(res.Events, e)
		top = id
	}
	if res.More {
		res.Next = "c" + strconv.FormatInt(top, 10)
	} else {
		res.Next = strconv.FormatInt(max(top, f.lastEventID)-f.lag, 10)
	}
	return res, true
}
