package social

import (
	"context"
	"errors"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Block adds users to the owner's block list: they can no longer send the
// owner messages or friend requests (their pending requests are dropped).
// The owner's devices get a blocked event. It returns the usernames added
// and those that are not users.
func (s *Service) Block(ctx context.Context, p *tenant.Principal, owner string, names []string) (added, missing []string, err error) {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return nil, nil, err
	}
	ids, canon, missing, err := s.resolveMany(ctx, p.App, names, MaxBatchUsers)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		if id == oid {
			return nil, nil, errs.New(protocol.ErrIllegalArgument, "a user cannot block themself")
		}
	}
	if len(ids) == 0 {
		return []string{}, missing, nil
	}
	n, err := s.st.Social().CountBlocked(ctx, oid)
	if err != nil {
		return nil, nil, err
	}
	if n+len(ids) > MaxBlocked {
		return nil, nil, errs.New(protocol.ErrContactLimit, "a block list holds at most %d users (%d now)", MaxBlocked, n)
	}
	evs := []store.Event{s.event(p.App.ID, oid, protocol.Event{Kind: protocol.EventBlocked, Users: canon})}
	if err := s.st.Social().Block(ctx, p.App.ID, oid, ids, s.now().UnixMilli(), evs); err != nil {
		return nil, nil, err
	}
	s.dropBlocks(oid)
	s.publish(p.App.ID, p.Resource, evs)
	return canon, missing, nil
}

// Unblock removes one user from the owner's block list.
func (s *Service) Unblock(ctx context.Context, p *tenant.Principal, owner, name string) (string, error) {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return "", err
	}
	bid, bname, err := s.users.Resolve(ctx, p.App, name)
	if err != nil {
		return "", err
	}
	evs := []store.Event{s.event(p.App.ID, oid, protocol.Event{Kind: protocol.EventUnblocked, Users: []string{bname}})}
	err = s.st.Social().Unblock(ctx, oid, bid, evs)
	s.dropBlocks(oid)
	if errors.Is(err, store.ErrNotFound) {
		return "", errs.New(protocol.ErrUserNotFound, "%s is not on the block list", bname)
	}
	if err != nil {
		return "", err
	}
	s.publish(p.App.ID, p.Resource, evs)
	return bname, nil
}

// Blocked pages through the owner's block list.
func (s *Service) Blocked(ctx context.Context, p *tenant.Principal, owner, cursor string, limit int) ([]string, string, error) {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeIDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > MaxBlocked {
		return nil, "", errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxBlocked)
	}
	ids, err := s.st.Social().Blocked(ctx, oid, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = encodeIDCursor(ids[limit-1])
	}
	names, err := s.names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, "", err
	}
	out := []string{}
	for _, id := range ids {
		if n, ok := names[id]; ok {
			out = append(out, n)
		}
	}
	return out, next, nil
}

// isBlocked reports whether owner blocks other, from a per-owner cache.
func (s *Service) isBlocked(ctx context.Context, owner, other int64) (bool, error) {
	now := s.now()
	set, ok := s.blocks.get(owner, now)
	if !ok {
		ids, err := s.st.Social().Blocked(ctx, owner, 0, MaxBlocked+1)
		if err != nil {
			return false, err
		}
		set = make(map[int64]bool, len(ids))
		for _, id := range ids {
			set[id] = true
		}
		s.blocks.put(owner, set, now)
	}
	return set[other], nil
}

// CheckSend is messaging's gate for a user's 1:1 send: the sender must not
// be muted for chat, the recipient must not block the sender, and in a
// friends-only app they must be friends.
func (s *Service) CheckSend(ctx context.Context, app *tenant.App, from, to int64) error {
	if until, err := s.mutedUntil(ctx, from, protocol.ChatTypeChat); err != nil {
		return err
	} else if until > 0 {
		return errs.New(protocol.ErrUserMuted, "the sender is muted until %s", time.UnixMilli(until).UTC().Format(time.RFC3339))
	}
	if blocked, err := s.isBlocked(ctx, to, from); err != nil {
		return err
	} else if blocked {
		return errs.New(protocol.ErrBlocked, "the recipient does not accept messages from the sender")
	}
	if app.Settings.FriendsOnly {
		if ok, err := s.areFriends(ctx, from, to); err != nil {
			return err
		} else if !ok {
			return errs.New(protocol.ErrNotContacts, "this app delivers messages between friends only")
		}
	}
	return nil
}
