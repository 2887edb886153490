package store

import "context"

// Contact is one side of a friendship: Owner's view of Friend.
type Contact struct {
	Owner   int64
	Friend  int64
	Remark  string
	Created int64
}

// ContactRequest is a pending friend request.
type ContactRequest struct {
	AppID   int64
	From    int64
	To      int64
	Reason  string
	Created int64
}

// Event is a stored per-user event (its payload is the wire event, JSON).
type Event struct {
	ID      int64 // a time-ordered stamp (idgen), the events cursor
	AppID   int64
	UserID  int64
	Payload []byte
	Created int64
}

// Mute holds, per chat type, the Unix ms until which a user may not send
// (0: not muted).
type Mute struct {
	UserID         int64
	AppID          int64
	ChatUntil      int64
	GroupChatUntil int64
	ChatRoomUntil  int64
	Updated        int64
}

// Profile is a user's attributes and custom presence status.
type Profile struct {
	UserID        int64
	Attrs         map[string]string
	Bytes         int // size of Attrs as counted against the limit
	Status        string
	StatusUpdated int64
}

// Subscription is a presence subscription.
type Subscription struct {
	Subscriber int64
	Target     int64
	Expires    int64
}

// SocialStore holds the social graph (contacts, requests, blocks), user
// profiles (attributes, presence status and subscriptions), global mutes and
// per-user events. Methods that change state take the events to record in
// the same transaction, so an event exists if and only if its change does.
type SocialStore interface {
	// AddContact makes a and b friends (both directions; existing rows keep
	// their remarks), deletes pending requests between them, and records
	// evs. It reports whether they were not friends before.
	AddContact(ctx context.Context, appID, a, b, now int64, evs []Event) (bool, error)
	// RemoveContact ends a friendship (both directions) and records evs;
	// ErrNotFound if they were not friends.
	RemoveContact(ctx context.Context, a, b int64, evs []Event) error
	// SetRemark sets owner's remark on friend; ErrNotFound if not friends.
	SetRemark(ctx context.Context, owner, friend int64, remark string) error
	// Contacts lists owner's friends with friend ID > after, by friend ID.
	Contacts(ctx context.Context, owner, after int64, limit int) ([]Contact, error)
	// IsContact reports whether friend is in owner's contacts.
	IsContact(ctx context.Context, owner, friend int64) (bool, error)
	// CountContacts counts owner's friends.
	CountContacts(ctx context.Context, owner int64) (int, error)

	// PutRequest stores (or refreshes) a pending request and records evs.
	PutRequest(ctx context.Context, r ContactRequest, evs []Event) error
	// DeleteRequest removes the request from -> to and records evs;
	// ErrNotFound if there is none.
	DeleteRequest(ctx context.Context, from, to int64, evs []Event) (*ContactRequest, error)
	// Requests lists the pending requests to a user, oldest first.
	Requests(ctx context.Context, to int64) ([]ContactRequest, error)

	// Block adds users to owner's block list (existing entries stay),
	// deletes their pending requests to owner, and records evs.
	Block(ctx context.Context, appID, owner int64, blocked []int64, now int64, evs []Event) error
	// Unblock removes one user from owner's block list and records evs;
	// ErrNotFound if not blocked.
	Unblock(ctx context.Context, owner, blocked int64, evs []Event) error
	// Blocked lists owner's block list with ID > after, by ID.
	Blocked(ctx context.Context, owner, after int64, limit int) ([]int64, error)
	// IsBlocked reports whether owner blocks other.
	IsBlocked(ctx context.Context, owner, other int64) (bool, error)
	// CountBlocked counts owner's block list.
	CountBlocked(ctx context.Context, owner int64) (int, error)

	// Profiles returns the profiles of those users that have one.
	Profiles(ctx context.Context, userIDs []int64) (map[int64]*Profile, error)
	// SetAttrs replaces a user's attributes (the caller merged and sized
	// them) and records evs.
	SetAttrs(ctx context.Context, appID, userID int64, attrs map[string]string, size int, now int64, evs []Event) error
	// SetStatus sets a user's custom presence status.
	SetStatus(ctx context.Context, appID, userID int64, status string, now int64) error
	// AttrsBytes is the total size of an app's user attributes.
	AttrsBytes(ctx context.Context, appID int64) (int64, error)

	// Subscribe subscribes to targets' presence until expires (Unix ms).
	Subscribe(ctx context.Context, appID, subscriber int64, targets []int64, expires int64) error
	// Unsubscribe ends subscriptions.
	Unsubscribe(ctx context.Context, subscriber int64, targets []int64) error
	// Subscriptions lists a subscriber's live subscriptions (expires > now)
	// by target, offset/limit, and their total.
	Subscriptions(ctx context.Context, subscriber, now int64, offset, limit int) ([]Subscription, int, error)
	// Subscribers lists who is subscribed to target's presence now.
	Subscribers(ctx context.Context, target, now int64) ([]int64, error)

	// SetMute stores m (all zero: no mute).
	SetMute(ctx context.Context, m Mute) error
	// Mute returns a user's mute; ErrNotFound if none.
	Mute(ctx context.Context, userID int64) (*Mute, error)
	// Mutes lists an app's mutes still in force at now, by user ID.
	Mutes(ctx context.Context, appID, now int64, offset, limit int) ([]Mute, error)

	// Events lists a user's events with ID > after, oldest first.
	Events(ctx context.Context, userID, after int64, limit int) ([]Event, error)
	// AddEvents records events outside any other change.
	AddEvents(ctx context.Context, evs []Event) error
	// PruneEvents deletes events older than the given time.
	PruneEvents(ctx context.Context, before int64) (int, error)
}
