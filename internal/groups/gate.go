package groups

import (
	"context"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

var _ messaging.GroupGate = (*Service)(nil)

// CheckGroupSend implements messaging.GroupGate: the sender must be a
// member, not muted (in the group, or globally for groupchat), and the
// group neither disabled nor muted for all (the owner, admins and the
// allow list may speak during mute-all).
func (s *Service) CheckGroupSend(ctx context.Context, app *tenant.App, userID, groupID int64) (int64, error) {
	grp, err := s.load(ctx, app.ID, groupID)
	if err != nil {
		return 0, err
	}
	role := grp.roles[userID]
	now := s.now().UnixMilli()
	switch {
	case role == "":
		return 0, errs.New(protocol.ErrNotGroupMember, "the sender is not a member of group %d", groupID)
	case grp.g.Disabled:
		return 0, errs.New(protocol.ErrGroupMuted, "group %d is disabled", groupID)
	case grp.mutes[userID] > now:
		return 0, errs.New(protocol.ErrGroupMuted, "the sender is muted in the group until %s",
			time.UnixMilli(grp.mutes[userID]).UTC().Format(time.RFC3339))
	case grp.g.MuteAll && role == store.RoleMember && !grp.allow[userID]:
		return 0, errs.New(protocol.ErrGroupMuted, "the group is muted for its members")
	}
	if until, err := s.social.MutedUntil(ctx, userID, protocol.ChatTypeGroup); err != nil {
		return 0, err
	} else if until > 0 {
		return 0, errs.New(protocol.ErrUserMuted, "the sender is muted for group messages until %s",
			time.UnixMilli(until).UTC().Format(time.RFC3339))
	}
	return grp.g.ConvID, nil
}

// CanModerate implements messaging.GroupGate.
func (s *Service) CanModerate(ctx context.Context, appID, userID, groupID int64) (bool, error) {
	grp, err := s.load(ctx, appID, groupID)
	if err != nil {
		return false, err
	}
	r := grp.roles[userID]
	return r == store.RoleOwner || r == store.RoleAdmin, nil
}

// IsMember implements messaging.GroupGate.
func (s *Service) IsMember(ctx context.Context, appID, userID, groupID int64) (bool, error) {
	grp, err := s.load(ctx, appID, groupID)
	if errs.Is(err, protocol.ErrGroupNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return grp.roles[userID] != "", nil
}

// LiveMembers returns the members who get a group's messages live (not
// shielded), for the gateways' fan-out. The map is shared: do not modify.
func (s *Service) LiveMembers(appID, groupID int64) (map[int64]string, map[int64]bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	grp, err := s.load(ctx, appID, groupID)
	if err != nil {
		return nil, nil
	}
	return grp.roles, grp.shield
}

// GroupConv implements messaging.GroupGate.
func (s *Service) GroupConv(ctx context.Context, appID, groupID int64) (int64, error) {
	grp, err := s.load(ctx, appID, groupID)
	if err != nil {
		return 0, err
	}
	if grp.g.Disabled {
		return 0, errs.New(protocol.ErrGroupMuted, "group %d is disabled", groupID)
	}
	return grp.g.ConvID, nil
}
