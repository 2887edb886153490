package store

import "context"

// Room is a chat room.
type Room struct {
	ID           int64
	AppID        int64
	Name         string
	Description  string
	MaxUsers     int
	Owner        int64
	Custom       string
	Announcement string
	MuteAll      bool
	Members      int
	Created      int64
	Updated      int64
}

// RoomMember is one member of a room.
type RoomMember struct {
	RoomID    int64
	UserID    int64
	Role      string
	MuteUntil int64
	Joined    int64
}

// RoomAttr is one room attribute.
type RoomAttr struct {
	Key        string
	Value      string
	Owner      int64
	AutoDelete bool
	Updated    int64
}

// Broadcast is an app-wide message to all users.
type Broadcast struct {
	ID      int64
	AppID   int64
	From    int64
	Type    string
	Body    []byte
	Ext     []byte
	Created int64
}

// RoomStore holds chat rooms (not their messages), their members, lists
// and attributes, the app's room super admins, and app-wide broadcasts.
type RoomStore interface {
	// Create stores r (setting ID and Members) with its members.
	Create(ctx context.Context, r *Room, members []RoomMember) error
	Get(ctx context.Context, appID, id int64) (*Room, error)
	// Update writes name, description, max users, custom, announcement,
	// mute all, owner and updated.
	Update(ctx context.Context, r *Room) error
	Delete(ctx context.Context, appID, id int64) error
	// List pages through an app's rooms, newest first (ID < before).
	List(ctx context.Context, appID, before int64, limit int) ([]Room, error)
	// Search is List keeping only rooms whose name contains name, ASCII
	// letters matched case-insensitively.
	Search(ctx context.Context, appID int64, name string, before int64, limit int) ([]Room, error)
	// All lists every room ID of an app (broadcasts).
	All(ctx context.Context, appID int64) ([]int64, error)
	// OfUser lists the rooms a user is in.
	OfUser(ctx context.Context, appID, userID int64, offset, limit int) ([]Room, error)

	Member(ctx context.Context, roomID, userID int64) (*RoomMember, error)
	Members(ctx context.Context, roomID, after int64, limit int) ([]RoomMember, error)
	// AddMembers adds members (existing ones skipped) unless MaxUsers would
	// be exceeded (ErrConflict, nothing added); it returns who was added.
	AddMembers(ctx context.Context, r *Room, members []RoomMember) ([]int64, error)
	// RemoveMembers removes members and the auto-delete attributes they
	// set; it returns who was removed and the attribute keys deleted.
	RemoveMembers(ctx context.Context, r *Room, userIDs []int64) ([]int64, []string, error)
	SetRole(ctx context.Context, roomID int64, userIDs []int64, role string) error
	SetMute(ctx context.Context, roomID int64, userIDs []int64, until int64) error

	ListAdd(ctx context.Context, roomID int64, kind string, userIDs []int64, now int64) error
	ListRemove(ctx context.Context, roomID int64, kind string, userIDs []int64) error
	ListUsers(ctx context.Context, roomID int64, kind string) ([]int64, error)

	// Attrs returns a room's attributes (all, or the keys given).
	Attrs(ctx context.Context, roomID int64, keys []string) ([]RoomAttr, error)
	// PutAttrs sets attributes; unless force, a key another member set is
	// not overwritten (its key is returned in refused).
	PutAttrs(ctx context.Context, roomID int64, attrs []RoomAttr, force bool) (refused []string, err error)
	// DeleteAttrs deletes keys; unless force, only keys owner set.
	DeleteAttrs(ctx context.Context, roomID, owner int64, keys []string, force bool) (deleted, refused []string, err error)

	SuperAdmins(ctx context.Context, appID int64) ([]int64, error)
	SetSuperAdmin(ctx context.Context, appID, userID int64, on bool, now int64) error
	IsSuperAdmin(ctx context.Context, appID, userID int64) (bool, error)

	// AddBroadcast stores an app-wide broadcast.
	AddBroadcast(ctx context.Context, b *Broadcast) error
	// Broadcasts lists an app's broadcasts with ID > after and created at
	// or after since, oldest first.
	Broadcasts(ctx context.Context, appID, after, since int64, limit int) ([]Broadcast, error)
}
