package rooms

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// ring keeps a room's last messages (encoded item frames).
type ring struct {
	app    int64
	frames [][]byte
	next   int
	full   bool
}

const maxRecent = 100 // kept per room; an app's setting chooses how many a joiner gets

func (r *ring) add(f []byte) {
	if len(r.frames) < maxRecent {
		r.frames = append(r.frames, f)
		return
	}
	r.frames[r.next] = f
	r.next = (r.next + 1) % maxRecent
	r.full = true
}

// last returns up to n frames, oldest first.
func (r *ring) last(n int) [][]byte {
	var all [][]byte
	if r.full {
		all = append(append(all, r.frames[r.next:]...), r.frames[:r.next]...)
	} else {
		all = r.frames
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return append([][]byte(nil), all...)
}

// remember keeps a room message from the bus for joiners.
func (s *Service) remember(data []byte) {
	d, ok := messaging.DecodeRoomDeliver(data)
	if !ok || !bytes.HasPrefix(d.Frame, []byte(`{"t":"item"`)) {
		return
	}
	s.mu.Lock()
	r := s.recent[d.RoomID]
	if r == nil {
		if len(s.recent) > 100_000 {
			s.recent = map[int64]*ring{}
		}
		r = &ring{app: d.AppID}
		s.recent[d.RoomID] = r
	}
	r.add(d.Frame)
	s.mu.Unlock()
}

// ForgetSender drops a user's messages from every room's recent messages,
// on this node and (through the invalidator) the others: an erased user's
// messages must not reach later joiners.
func (s *Service) ForgetSender(appID int64, username string) {
	s.forgetSenderLocal(appID, username)
	if s.inv != nil {
		s.inv.Publish("roomsender", strconv.FormatInt(appID, 10)+":"+username)
	}
}

func (s *Service) forgetSenderLocal(appID int64, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recent {
		if r.app != appID {
			continue
		}
		all := r.last(maxRecent)
		kept := all[:0]
		for _, f := range all {
			var fr protocol.ItemFrame
			if json.Unmarshal(f, &fr) == nil && fr.Item != nil && fr.Item.From == username {
				continue
			}
			kept = append(kept, f)
		}
		if len(kept) != len(all) {
			r.frames, r.next, r.full = kept, 0, false
		}
	}
}

// recentItems decodes a room's last n messages.
func (s *Service) recentItems(roomID int64, n int) []*protocol.Item {
	s.mu.Lock()
	r := s.recent[roomID]
	var frames [][]byte
	if r != nil {
		frames = r.last(n)
	}
	s.mu.Unlock()
	out := []*protocol.Item{}
	for _, f := range frames {
		var fr protocol.ItemFrame
		if json.Unmarshal(f, &fr) == nil && fr.Item != nil {
			out = append(out, fr.Item)
		}
	}
	return out
}

// churn collects member joins and leaves of a room for one event.
type churn struct {
	appID        int64
	joined, left []string
}

func (s *Service) noteChurn(appID, roomID int64, joined, left []string) {
	s.mu.Lock()
	c := s.pending[roomID]
	if c == nil {
		c = &churn{appID: appID}
		s.pending[roomID] = c
	}
	c.joined = append(c.joined, joined...)
	c.left = append(c.left, left...)
	s.mu.Unlock()
}

// flushChurn sends the coalesced member events: at most one joined and one
// left event per room per interval, whatever the churn.
func (s *Service) flushChurn() {
	s.mu.Lock()
	pending := s.pending
	s.pending = map[int64]*churn{}
	s.mu.Unlock()
	for roomID, c := range pending {
		if len(c.joined) > 0 {
			s.event(c.appID, roomID, protocol.RoomEvent{Kind: protocol.RoomMembersJoined, Users: cap100(c.joined)})
		}
		if len(c.left) > 0 {
			s.event(c.appID, roomID, protocol.RoomEvent{Kind: protocol.RoomMembersLeft, Users: cap100(c.left)})
		}
	}
}

// cap100 keeps an event small in a storm: the first 100 names.
func cap100(names []string) []string {
	if len(names) > 100 {
		return names[:100]
	}
	return names
}

// ConnectionChanged is told (by the gateway, under its lock: it must not
// call back) when a user's first device connects or last disconnects: it
// ends or starts their grace period.
func (s *Service) ConnectionChanged(appID, userID int64, online bool) {
	k := [2]int64{appID, userID}
	s.mu.Lock()
	if online {
		delete(s.offline, k)
	} else if _, ok := s.offline[k]; !ok {
		s.offline[k] = s.now()
	}
	s.mu.Unlock()
}

// sweepOffline removes users offline past the app's grace period from the
// rooms they are in (except where allow-listed, and rooms they own or
// administer).
func (s *Service) sweepOffline() {
	now := s.now()
	s.mu.Lock()
	var due [][2]int64
	for k, since := range s.offline {
		if now.Sub(since) >= time.Second {
			due = append(due, k)
		}
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range due {
		app, err := s.apps.ByID(ctx, k[0])
		if err != nil {
			continue
		}
		set := app.Settings
		s.mu.Lock()
		since, still := s.offline[k]
		s.mu.Unlock()
		if !still || now.Sub(since) < set.RoomGrace() {
			continue
		}
		// Back on another node of the cluster meanwhile: keep.
		if devs, _ := s.dir.Devices(ctx, k[0], k[1]); len(devs) > 0 {
			s.mu.Lock()
			if s.offline[k] == since {
				delete(s.offline, k)
			}
			s.mu.Unlock()
			continue
		}
		rooms, err := s.st.Rooms().OfUser(ctx, k[0], k[1], 0, 1000)
		if err != nil {
			continue
		}
		for i := range rooms {
			c, err := s.load(ctx, k[0], rooms[i].ID)
			if err != nil || c.allow[k[1]] || c.roles[k[1]] == store.RoleOwner || c.roles[k[1]] == store.RoleAdmin {
				continue
			}
			if _, err := s.removeIDs(ctx, c, []int64{k[1]}, "", true); err != nil {
				s.log.Warn("remove offline room member", "err", err)
			}
		}
		s.mu.Lock()
		if s.offline[k] == since {
			delete(s.offline, k)
		}
		s.mu.Unlock()
	}
}

// CheckRoomSend implements messaging.RoomGate.
func (s *Service) CheckRoomSend(ctx context.Context, app *tenant.App, userID, roomID int64) error {
	c, err := s.load(ctx, app.ID, roomID)
	if err != nil {
		return err
	}
	role := c.roles[userID]
	switch {
	case role == "":
		return errs.New(protocol.ErrNotRoomMember, "join chat room %d before sending to it", roomID)
	case c.mutes[userID] == -1 || c.mutes[userID] > s.now().UnixMilli():
		return errs.New(protocol.ErrRoomMuted, "the sender is muted in the chat room")
	case c.r.MuteAll && role == store.RoleMember && !c.allow[userID]:
		return errs.New(protocol.ErrRoomMuted, "the chat room is muted for its members")
	}
	return nil
}

// RoomExists implements messaging.RoomGate.
func (s *Service) RoomExists(ctx context.Context, appID, roomID int64) error {
	_, err := s.load(ctx, appID, roomID)
	return err
}

// LiveMembers returns a room's members, for the gateways' fan-out (shared:
// do not modify).
func (s *Service) LiveMembers(appID, roomID int64) map[int64]string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.load(ctx, appID, roomID)
	if err != nil {
		return nil
	}
	return c.roles
}
