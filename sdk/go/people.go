package parley

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleyim/parley/protocol"
)

// MaxUsersPerCall is how many users one call may name (Block, Attributes,
// SubscribePresence, UnsubscribePresence, Presence).
const MaxUsersPerCall = 100

// ErrTooManyUsers is returned, without asking the server, by a call that
// names more than MaxUsersPerCall users.
var ErrTooManyUsers = fmt.Errorf("parley: a call may name at most %d users", MaxUsersPerCall)

const (
	allContactsPage = 1000
	allBlockedPage  = 500
)

// checkUsers validates a list of users for one call: the server refuses an
// empty list as a malformed frame, and a long one as illegal_argument.
func checkUsers(call string, users []string) error {
	switch {
	case len(users) == 0:
		return fmt.Errorf("parley: %s needs at least one user", call)
	case len(users) > MaxUsersPerCall:
		return ErrTooManyUsers
	}
	return nil
}

func needUser(call, user string) error {
	if user == "" {
		return fmt.Errorf("parley: %s needs a user", call)
	}
	return nil
}

// fetchOwnEvents asks the processing goroutine to fetch the events of a
// change this device made: the server pushes them to the user's other
// devices only.
func (c *Client) fetchOwnEvents() { c.pushes.add(push{eventsDue: true}) }

// RequestContact asks another user to be friends, with an optional reason
// (≤256 characters). Both users' devices get a ContactRequestEvent. If that
// user had asked this one already, it accepts their request instead
// (ContactAcceptedEvent). Errors: protocol.ErrBlocked (they block this
// user), protocol.ErrIllegalArgument (already friends, or oneself),
// protocol.ErrContactLimit, protocol.ErrUserNotFound. It is not repeated
// after a lost connection (ErrConnectionLost): the events tell whether it
// happened.
func (c *Client) RequestContact(ctx context.Context, to, reason string) error {
	if err := needUser("RequestContact", to); err != nil {
		return err
	}
	return c.change(ctx, protocol.Request{T: protocol.FrameContactRequest, To: to, Reason: reason}, false)
}

// AcceptContact accepts the pending friend request from a user: they become
// friends and both users' devices get a ContactAcceptedEvent.
// protocol.ErrRequestNotFound if there is no such request. It is not
// repeated after a lost connection.
func (c *Client) AcceptContact(ctx context.Context, from string) error {
	if err := needUser("AcceptContact", from); err != nil {
		return err
	}
	return c.change(ctx, protocol.Request{T: protocol.FrameContactAccept, User: from}, false)
}

// DeclineContact declines the pending friend request from a user; both
// users' devices get a ContactDeclinedEvent. protocol.ErrRequestNotFound if
// there is no such request. It is not repeated after a lost connection.
func (c *Client) DeclineContact(ctx context.Context, from string) error {
	if err := needUser("DeclineContact", from); err != nil {
		return err
	}
	return c.change(ctx, protocol.Request{T: protocol.FrameContactDecline, User: from}, false)
}

// RemoveContact ends a friendship; both users' devices get a
// ContactRemovedEvent. protocol.ErrUserNotFound if they are not friends. It
// is not repeated after a lost connection.
func (c *Client) RemoveContact(ctx context.Context, user string) error {
	if err := needUser("RemoveContact", user); err != nil {
		return err
	}
	return c.change(ctx, protocol.Request{T: protocol.FrameContactRemove, User: user}, false)
}

// SetContactRemark sets this user's private note on a friend (≤100
// characters; "" clears it). It makes no event. protocol.ErrUserNotFound
// if they are not friends.
func (c *Client) SetContactRemark(ctx context.Context, user, remark string) error {
	if err := needUser("SetContactRemark", user); err != nil {
		return err
	}
	_, err := c.call(ctx, protocol.Request{T: protocol.FrameContactRemark, User: user, Remark: &remark}, true)
	return err
}

// Contacts returns a page of this user's friends and the cursor of the next
// page ("" on the last). limit is 1-3000; 0 means the server default (100).
func (c *Client) Contacts(ctx context.Context, limit int, cursor string) ([]*protocol.ContactInfo, string, error) {
	r, err := c.call(ctx, protocol.Request{T: protocol.FrameContacts, Limit: limit, Cursor: cursor}, true)
	if err != nil {
		return nil, "", err
	}
	var res protocol.ContactsResult
	if err := r.decode(&res); err != nil {
		return nil, "", err
	}
	return res.Contacts, res.Cursor, nil
}

// AllContacts returns all of this user's friends (at most 3,000), fetching
// page after page.
func (c *Client) AllContacts(ctx context.Context) ([]*protocol.ContactInfo, error) {
	return all(func(cursor string) ([]*protocol.ContactInfo, string, error) {
		return c.Contacts(ctx, allContactsPage, cursor)
	})
}

// ContactRequests returns the friend requests waiting for this user's
// answer, oldest first.
func (c *Client) ContactRequests(ctx context.Context) ([]*protocol.ContactRequestInfo, error) {
	r, err := c.call(ctx, protocol.Request{T: protocol.FrameContactRequests}, true)
	if err != nil {
		return nil, err
	}
	var res protocol.ContactRequestsResult
	if err := r.decode(&res); err != nil {
		return nil, err
	}
	return res.Requests, nil
}

// Block adds users (at most MaxUsersPerCall; at most 500 blocked in all) to
// this user's block list: their messages and friend requests to this user
// are refused with protocol.ErrBlocked and nothing is stored, and their
// pending requests are dropped. This user's devices get a BlockedEvent.
// When some of the users do not exist the server blocks the others and
// answers protocol.ErrUserNotFound. Errors: protocol.ErrContactLimit (the
// list is full), protocol.ErrIllegalArgument (oneself).
func (c *Client) Block(ctx context.Context, users ...string) error {
	if err := checkUsers("Block", users); err != nil {
		return err
	}
	// Blocking twice leaves the same list, so a lost reply is retried (at
	// worst this makes a second BlockedEvent).
	return c.change(ctx, protocol.Request{T: protocol.FrameBlock, Users: users}, true)
}

// Unblock removes a user from this user's block list; this user's devices
// get an UnblockedEvent. protocol.ErrUserNotFound if the user is not on it.
// It is not repeated after a lost connection.
func (c *Client) Unblock(ctx context.Context, user string) error {
	if err := needUser("Unblock", user); err != nil {
		return err
	}
	return c.change(ctx, protocol.Request{T: protocol.FrameUnblock, User: user}, false)
}

// BlockList returns a page of this user's block list and the cursor of the
// next page ("" on the last). limit is 1-500; 0 means all (500).
func (c *Client) BlockList(ctx context.Context, limit int, cursor string) ([]string, string, error) {
	r, err := c.call(ctx, protocol.Request{T: protocol.FrameBlocks, Limit: limit, Cursor: cursor}, true)
	if err != nil {
		return nil, "", err
	}
	var res protocol.BlocksResult
	if err := r.decode(&res); err != nil {
		return nil, "", err
	}
	return res.Users, res.Cursor, nil
}

// AllBlocked returns this user's whole block list.
func (c *Client) AllBlocked(ctx context.Context) ([]string, error) {
	return all(func(cursor string) ([]string, string, error) {
		return c.BlockList(ctx, allBlockedPage, cursor)
	})
}

// all collects the pages of a paged list.
func all[T any](page func(cursor string) ([]T, string, error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		list, next, err := page(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if next == "" {
			return out, nil
		}
		if next == cursor {
			return nil, errors.New("parley: the server repeated a page cursor")
		}
		cursor = next
	}
}

// SetAttributes merges attributes into this user's and returns all of them
// after the change. An empty value removes its key. Standard keys and their
// limits in characters: nickname 64, avatarurl 256, phone 32, mail 64,
// gender "0", "1" or "2", sign 256, birth 64, ext; other keys may be 1-64
// bytes. All keys and values together may not exceed 2 KB
// (protocol.ErrAttrsTooLarge; nothing changes). This user's devices get an
// AttributesEvent.
func (c *Client) SetAttributes(ctx context.Context, attrs map[string]string) (map[string]string, error) {
	if len(attrs) == 0 {
		return nil, errors.New("parley: SetAttributes needs at least one attribute")
	}
	r, err := c.call(ctx, protocol.Request{T: protocol.FrameAttrsSet, Attrs: attrs}, true)
	if err != nil {
		return nil, err
	}
	c.fetchOwnEvents()
	var res protocol.AttrsResult
	if err := r.decode(&res); err != nil {
		return nil, err
	}
	if a, ok := res.Attrs[c.User()]; ok {
		return a, nil
	}
	for _, a := range res.Attrs { // the server names the user as it stores it
		return a, nil
	}
	return map[string]string{}, nil
}

// Attributes returns the attributes of users (at most MaxUsersPerCall; any
// user of the app), by username, keeping only keys if any are given. Users
// that do not exist are left out; users without attributes have an empty
// map.
func (c *Client) Attributes(ctx context.Context, users []string, keys ...string) (map[string]map[string]string, error) {
	if err := checkUsers("Attributes", users); err != nil {
		return nil, err
	}
	r, err := c.call(ctx, protocol.Request{T: protocol.FrameAttrsGet, Users: users, Keys: keys}, true)
	if err != nil {
		return nil, err
	}
	var res protocol.AttrsResult
	if err := r.decode(&res); err != nil {
		return nil, err
	}
	if res.Attrs == nil {
		res.Attrs = map[string]map[string]string{}
	}
	return res.Attrs, nil
}

// DeleteAttributes removes all of this user's attributes. This user's
// devices get an AttributesEvent with no attributes.
func (c *Client) DeleteAttributes(ctx context.Context) error {
	return c.change(ctx, protocol.Request{T: protocol.FrameAttrsDelete}, true)
}

// PublishPresence sets this user's custom status text (≤1 KB; "" clears
// it). Subscribers get a PresenceEvent.
func (c *Client) PublishPresence(ctx context.Context, status string) error {
	_, err := c.call(ctx, protocol.Request{T: protocol.FramePresencePublish, Status: &status}, true)
	return err
}

// SubscribePresence subscribes to users' presence (at most
// MaxUsersPerCall per call, 3,000 in all) for expiry (1 s to 30 days,
// rounded up to whole seconds; subscribing again extends it) and returns
// their presence now, each with the subscription's Expiry. This Client then
// gets a PresenceEvent whenever one of them comes online, goes offline or
// changes status. Subscriptions belong to the user: all of its devices get
// the events.
func (c *Client) SubscribePresence(ctx context.Context, users []string, expiry time.Duration) ([]*protocol.Presence, error) {
	if err := checkUsers("SubscribePresence", users); err != nil {
		return nil, err
	}
	if expiry <= 0 {
		return nil, errors.New("parley: SubscribePresence needs a positive expiry")
	}
	secs := int64((expiry + time.Second - 1) / time.Second)
	return c.presence(ctx, protocol.Request{T: protocol.FramePresenceSub, Users: users, Expiry: secs})
}

// UnsubscribePresence ends this user's presence subscriptions to users.
func (c *Client) UnsubscribePresence(ctx context.Context, users ...string) error {
	if err := checkUsers("UnsubscribePresence", users); err != nil {
		return err
	}
	_, err := c.call(ctx, protocol.Request{T: protocol.FramePresenceUnsub, Users: users}, true)
	return err
}

// Presence returns users' presence now (subscribed or not). Users that do
// not exist are left out.
func (c *Client) Presence(ctx context.Context, users ...string) ([]*protocol.Presence, error) {
	if err := checkUsers("Presence", users); err != nil {
		return nil, err
	}
	return c.presence(ctx, protocol.Request{T: protocol.FramePresenceGet, Users: users})
}

func (c *Client) presence(ctx context.Context, req protocol.Request) ([]*protocol.Presence, error) {
	r, err := c.call(ctx, req, true)
	if err != nil {
		return nil, err
	}
	var res protocol.PresenceResult
	if err := r.decode(&res); err != nil {
		return nil, err
	}
	return res.Presence, nil
}

// change makes a request that records people events, and then fetches
// them, so that this device gets them as its other devices do. It fetches
// after a failure too: a lost reply, or a Block that named unknown users,
// may still have changed something.
func (c *Client) change(ctx context.Context, req protocol.Request, retry bool) error {
	_, err := c.call(ctx, req, retry)
	c.fetchOwnEvents()
	return err
}
