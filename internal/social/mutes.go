package social

import (
	"context"
	"errors"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Global mutes (Easemob's /mutes): per chat type, a user may not send until
// a time. Durations are in seconds: 0 lifts the mute, -1 is forever.

// forever is the stored "until" of a permanent mute.
const forever = int64(1) << 62

// MuteDurations are the seconds to set per chat type (nil: unchanged).
type MuteDurations struct {
	Chat, GroupChat, ChatRoom *int64
}

// MuteStatus is a user's remaining mute per chat type, in seconds
// (0: not muted, -1: forever).
type MuteStatus struct {
	User      string `json:"userid"`
	Chat      int64  `json:"chat"`
	GroupChat int64  `json:"groupchat"`
	ChatRoom  int64  `json:"chatroom"`
	UnixTime  int64  `json:"unixtime"` // the server time the figures are for (s)
}

// SetMute sets a user's global mutes (an app token).
func (s *Service) SetMute(ctx context.Context, p *tenant.Principal, username string, d MuteDurations) error {
	if err := p.RequireAdmin(); err != nil {
		return err
	}
	uid, _, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return err
	}
	m, err := s.st.Social().Mute(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		m, err = &store.Mute{UserID: uid, AppID: p.App.ID}, nil
	}
	if err != nil {
		return err
	}
	now := s.now().UnixMilli()
	for _, f := range []struct {
		d   *int64
		dst *int64
	}{{d.Chat, &m.ChatUntil}, {d.GroupChat, &m.GroupChatUntil}, {d.ChatRoom, &m.ChatRoomUntil}} {
		switch {
		case f.d == nil:
		case *f.d == 0:
			*f.dst = 0
		case *f.d == -1:
			*f.dst = forever
		case *f.d > 0 && *f.d <= 100*365*24*3600:
			*f.dst = now + *f.d*1000
		default:
			return errs.New(protocol.ErrIllegalArgument, "mute durations are seconds: 0 lifts the mute, -1 is forever")
		}
	}
	m.Updated = now
	if err := s.st.Social().SetMute(ctx, *m); err != nil {
		return err
	}
	s.dropMute(uid)
	return nil
}

func remaining(until, now int64) int64 {
	switch {
	case until >= forever:
		return -1
	case until <= now:
		return 0
	}
	return (until - now + 999) / 1000
}

func (s *Service) status(name string, m *store.Mute) MuteStatus {
	now := s.now().UnixMilli()
	return MuteStatus{User: name, Chat: remaining(m.ChatUntil, now), GroupChat: remaining(m.GroupChatUntil, now),
		ChatRoom: remaining(m.ChatRoomUntil, now), UnixTime: now / 1000}
}

// Mute returns a user's remaining mutes (an app token).
func (s *Service) Mute(ctx context.Context, p *tenant.Principal, username string) (*MuteStatus, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	uid, name, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return nil, err
	}
	m, err := s.st.Social().Mute(ctx, uid)
	if errors.Is(err, store.ErrNotFound) {
		m, err = &store.Mute{}, nil
	}
	if err != nil {
		return nil, err
	}
	st := s.status(name, m)
	return &st, nil
}

// Mutes pages through the app's users muted now (page from 1, size ≤50).
func (s *Service) Mutes(ctx context.Context, p *tenant.Principal, page, size int) ([]MuteStatus, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if page < 1 || size < 1 || size > 50 {
		return nil, errs.New(protocol.ErrIllegalArgument, "pageNum must be ≥1 and pageSize 1..50")
	}
	list, err := s.st.Social().Mutes(ctx, p.App.ID, s.now().UnixMilli(), (page-1)*size, size)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(list))
	for i, m := range list {
		ids[i] = m.UserID
	}
	names, err := s.names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, err
	}
	out := []MuteStatus{}
	for i := range list {
		if n, ok := names[list[i].UserID]; ok {
			out = append(out, s.status(n, &list[i]))
		}
	}
	return out, nil
}

// mutedUntil returns when a user's mute for a chat type ends (0: not
// muted), from a short cache.
func (s *Service) mutedUntil(ctx context.Context, userID int64, chatType string) (int64, error) {
	now := s.now()
	m, ok := s.mutes.get(userID, now)
	if !ok {
		got, err := s.st.Social().Mute(ctx, userID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			m = store.Mute{}
		case err != nil:
			return 0, err
		default:
			m = *got
		}
		s.mutes.put(userID, m, now)
	}
	until := m.ChatUntil
	switch chatType {
	case "groupchat":
		until = m.GroupChatUntil
	case "chatroom":
		until = m.ChatRoomUntil
	}
	if until <= now.UnixMilli() {
		return 0, nil
	}
	return until, nil
}
