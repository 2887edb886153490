package social

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// pairEvents is one event for each of two users.
func (s *Service) pairEvents(appID, a, b int64, e protocol.Event) []store.Event {
	return []store.Event{s.event(appID, a, e), s.event(appID, b, e)}
}

func (s *Service) checkContactRoom(ctx context.Context, ids ...int64) error {
	for _, id := range ids {
		n, err := s.st.Social().CountContacts(ctx, id)
		if err != nil {
			return err
		}
		if n >= MaxContacts {
			return errs.New(protocol.ErrContactLimit, "a user may have at most %d friends", MaxContacts)
		}
	}
	return nil
}

// RequestContact sends a friend request from the caller (a user) to
// another user, with an optional reason. Both users' devices get a
// contact_request event. If the other user had asked the caller already,
// the request is an acceptance.
func (s *Service) RequestContact(ctx context.Context, p *tenant.Principal, to, reason string) error {
	if err := userOnly(p); err != nil {
		return err
	}
	if utf8.RuneCountInString(reason) > MaxReasonChars {
		return errs.New(protocol.ErrIllegalArgument, "reason is longer than %d characters", MaxReasonChars)
	}
	tid, tname, err := s.users.Resolve(ctx, p.App, to)
	if err != nil {
		return err
	}
	if tid == p.UserID {
		return errs.New(protocol.ErrIllegalArgument, "cannot add yourself as a friend")
	}
	if blocked, err := s.isBlocked(ctx, tid, p.UserID); err != nil {
		return err
	} else if blocked {
		return errs.New(protocol.ErrBlocked, "%s does not accept requests from %s", tname, p.Username)
	}
	if ok, err := s.st.Social().IsContact(ctx, p.UserID, tid); err != nil {
		return err
	} else if ok {
		return errs.New(protocol.ErrIllegalArgument, "%s is already a friend", tname)
	}
	if err := s.checkContactRoom(ctx, p.UserID); err != nil {
		return err
	}
	// A request crossing one from the other side is an acceptance.
	if reqs, err := s.st.Social().Requests(ctx, p.UserID); err == nil {
		for _, r := range reqs {
			if r.From == tid {
				return s.answer(ctx, p, tid, tname, true)
			}
		}
	}
	evs := s.pairEvents(p.App.ID, tid, p.UserID, protocol.Event{Kind: protocol.EventContactRequest, From: p.Username, To: tname, Reason: reason})
	if err := s.st.Social().PutRequest(ctx, store.ContactRequest{AppID: p.App.ID, From: p.UserID, To: tid, Reason: reason,
		Created: s.now().UnixMilli()}, evs); err != nil {
		return err
	}
	s.publish(p.App.ID, p.Resource, evs)
	return nil
}

// AcceptContact accepts a pending request from another user: they become
// friends and both users' devices get contact_accepted.
func (s *Service) AcceptContact(ctx context.Context, p *tenant.Principal, from string) error {
	return s.answerByName(ctx, p, from, true)
}

// DeclineContact declines a pending request; both users' devices get
// contact_declined.
func (s *Service) DeclineContact(ctx context.Context, p *tenant.Principal, from string) error {
	return s.answerByName(ctx, p, from, false)
}

func (s *Service) answerByName(ctx context.Context, p *tenant.Principal, from string, accept bool) error {
	if err := userOnly(p); err != nil {
		return err
	}
	fid, fname, err := s.users.Resolve(ctx, p.App, from)
	if err != nil {
		return err
	}
	return s.answer(ctx, p, fid, fname, accept)
}

func (s *Service) answer(ctx context.Context, p *tenant.Principal, fid int64, fname string, accept bool) error {
	kind := protocol.EventContactDeclined
	if accept {
		kind = protocol.EventContactAccepted
		if err := s.checkContactRoom(ctx, p.UserID, fid); err != nil {
			return err
		}
	}
	evs := s.pairEvents(p.App.ID, fid, p.UserID, protocol.Event{Kind: kind, From: fname, To: p.Username})
	var err error
	if accept {
		// Check the request exists, then add (which deletes it) with the events.
		var reqs []store.ContactRequest
		if reqs, err = s.st.Social().Requests(ctx, p.UserID); err == nil {
			found := false
			for _, r := range reqs {
				found = found || r.From == fid
			}
			if !found {
				return errs.New(protocol.ErrRequestNotFound, "no pending friend request from %s", fname)
			}
			_, err = s.st.Social().AddContact(ctx, p.App.ID, p.UserID, fid, s.now().UnixMilli(), evs)
			s.dropFriends(fid, p.UserID)
		}
	} else {
		_, err = s.st.Social().DeleteRequest(ctx, fid, p.UserID, evs)
		if errors.Is(err, store.ErrNotFound) {
			return errs.New(protocol.ErrRequestNotFound, "no pending friend request from %s", fname)
		}
	}
	if err != nil {
		return err
	}
	s.publish(p.App.ID, p.Resource, evs)
	return nil
}

// ContactRequests lists the requests waiting for the caller's answer.
func (s *Service) ContactRequests(ctx context.Context, p *tenant.Principal) ([]*protocol.ContactRequestInfo, error) {
	if err := userOnly(p); err != nil {
		return nil, err
	}
	reqs, err := s.st.Social().Requests(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(reqs))
	for i, r := range reqs {
		ids[i] = r.From
	}
	names, err := s.names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, err
	}
	out := []*protocol.ContactRequestInfo{}
	for _, r := range reqs {
		if n, ok := names[r.From]; ok {
			out = append(out, &protocol.ContactRequestInfo{From: n, Reason: r.Reason, TS: r.Created})
		}
	}
	return out, nil
}

// AddContact makes two users friends without a request (an app token, or
// Easemob's REST add). Both users' devices get contact_added. Adding an
// existing friend changes nothing.
func (s *Service) AddContact(ctx context.Context, p *tenant.Principal, owner, friend string) error {
	if err := p.RequireAdmin(); err != nil {
		return err
	}
	oid, oname, err := s.users.Resolve(ctx, p.App, owner)
	if err != nil {
		return err
	}
	fid, fname, err := s.users.Resolve(ctx, p.App, friend)
	if err != nil {
		return err
	}
	return s.addContact(ctx, p.App, oid, oname, fid, fname)
}

func (s *Service) addContact(ctx context.Context, app *tenant.App, oid int64, oname string, fid int64, fname string) error {
	if oid == fid {
		return errs.New(protocol.ErrIllegalArgument, "a user cannot be their own friend")
	}
	if ok, err := s.st.Social().IsContact(ctx, oid, fid); err != nil || ok {
		return err
	}
	if err := s.checkContactRoom(ctx, oid, fid); err != nil {
		return err
	}
	evs := s.pairEvents(app.ID, oid, fid, protocol.Event{Kind: protocol.EventContactAdded, From: oname, To: fname})
	added, err := s.st.Social().AddContact(ctx, app.ID, oid, fid, s.now().UnixMilli(), evs)
	if err != nil {
		return err
	}
	s.dropFriends(oid, fid)
	if added {
		s.publish(app.ID, "", evs)
	}
	return nil
}

// RemoveContact ends a friendship (the user themself, or an app token).
// Both users' devices get contact_removed.
func (s *Service) RemoveContact(ctx context.Context, p *tenant.Principal, owner, friend string) error {
	oid, oname, err := s.self(ctx, p, owner)
	if err != nil {
		return err
	}
	fid, fname, err := s.users.Resolve(ctx, p.App, friend)
	if err != nil {
		return err
	}
	evs := s.pairEvents(p.App.ID, oid, fid, protocol.Event{Kind: protocol.EventContactRemoved, From: oname, To: fname})
	err = s.st.Social().RemoveContact(ctx, oid, fid, evs)
	s.dropFriends(oid, fid)
	if errors.Is(err, store.ErrNotFound) {
		return errs.New(protocol.ErrUserNotFound, "%s is not a friend of %s", fname, oname)
	}
	if err != nil {
		return err
	}
	s.publish(p.App.ID, p.Resource, evs)
	return nil
}

// SetRemark sets the owner's private remark on a friend (≤100 characters).
func (s *Service) SetRemark(ctx context.Context, p *tenant.Principal, owner, friend, remark string) error {
	if utf8.RuneCountInString(remark) > MaxRemarkChars || !utf8.ValidString(remark) {
		return errs.New(protocol.ErrIllegalArgument, "remark must be valid UTF-8 of at most %d characters", MaxRemarkChars)
	}
	oid, oname, err := s.self(ctx, p, owner)
	if err != nil {
		return err
	}
	fid, fname, err := s.users.Resolve(ctx, p.App, friend)
	if err != nil {
		return err
	}
	if err := s.st.Social().SetRemark(ctx, oid, fid, remark); errors.Is(err, store.ErrNotFound) {
		return errs.New(protocol.ErrUserNotFound, "%s is not a friend of %s", fname, oname)
	} else if err != nil {
		return err
	}
	return nil
}

func encodeIDCursor(id int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeIDCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) != 8 {
		return 0, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", c)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// Contacts pages through a user's friends (by user ID).
func (s *Service) Contacts(ctx context.Context, p *tenant.Principal, owner, cursor string, limit int) ([]*protocol.ContactInfo, string, error) {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeIDCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if limit < 1 || limit > MaxContacts {
		return nil, "", errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxContacts)
	}
	list, err := s.st.Social().Contacts(ctx, oid, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = encodeIDCursor(list[limit-1].Friend)
	}
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.Friend
	}
	names, err := s.names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, "", err
	}
	out := []*protocol.ContactInfo{}
	for _, c := range list {
		if n, ok := names[c.Friend]; ok {
			out = append(out, &protocol.ContactInfo{User: n, Remark: c.Remark, Since: c.Created})
		}
	}
	return out, next, nil
}

// Counts returns how many friends a user has and how many users they block
// (the user or an app token).
func (s *Service) Counts(ctx context.Context, p *tenant.Principal, owner string) (friends, blocked int, err error) {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return 0, 0, err
	}
	if friends, err = s.st.Social().CountContacts(ctx, oid); err != nil {
		return 0, 0, err
	}
	blocked, err = s.st.Social().CountBlocked(ctx, oid)
	return friends, blocked, err
}

// ImportResult is the outcome of a contacts import, per Easemob's fields.
type ImportResult struct {
	Success        []string `json:"success"`
	NotExistFailed []string `json:"NotExistFailed"`
	MaxLimitFailed []string `json:"maxLimitFailed"`
	UnknownFailed  []string `json:"UnKnowFailed"`
}

// Import adds up to 10 friends to a user at once (an app token).
func (s *Service) Import(ctx context.Context, p *tenant.Principal, owner string, friends []string) (*ImportResult, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if len(friends) == 0 || len(friends) > MaxImport {
		return nil, errs.New(protocol.ErrIllegalArgument, "usernames must list 1..%d users", MaxImport)
	}
	oid, oname, err := s.users.Resolve(ctx, p.App, owner)
	if err != nil {
		return nil, err
	}
	res := &ImportResult{Success: []string{}, NotExistFailed: []string{}, MaxLimitFailed: []string{}, UnknownFailed: []string{}}
	for _, f := range friends {
		fid, fname, err := s.users.Resolve(ctx, p.App, f)
		if err != nil {
			res.NotExistFailed = append(res.NotExistFailed, f)
			continue
		}
		switch err := s.addContact(ctx, p.App, oid, oname, fid, fname); {
		case err == nil:
			res.Success = append(res.Success, fname)
		case errs.Is(err, protocol.ErrContactLimit):
			res.MaxLimitFailed = append(res.MaxLimitFailed, fname)
		default:
			res.UnknownFailed = append(res.UnknownFailed, fname)
		}
	}
	return res, nil
}

// areFriends answers messaging's friends-only check, cached briefly.
func (s *Service) areFriends(ctx context.Context, a, b int64) (bool, error) {
	k := [2]int64{min(a, b), max(a, b)}
	now := s.now()
	if v, ok := s.friends.get(k, now); ok {
		return v, nil
	}
	v, err := s.st.Social().IsContact(ctx, a, b)
	if err != nil {
		return false, err
	}
	s.friends.put(k, v, now)
	return v, nil
}
