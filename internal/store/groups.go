package store

import "context"

// Group roles.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Group lists.
const (
	ListBlock = "block" // may not join
	ListAllow = "allow" // may speak during mute-all
)

// Group requests.
const (
	RequestApply  = "apply"  // the user asked to join
	RequestInvite = "invite" // the user was invited and must confirm
)

// ConvGroup is the conversation kind of a group's stream.
const ConvGroup = "group"

// ItemNotice is a group notice in the stream (a member joined, the
// announcement changed ...): its Type names the notice, its Body holds it.
const ItemNotice = "notice"

// Group is a chat group.
type Group struct {
	ID                int64
	AppID             int64
	ConvID            int64
	Name              string
	Description       string
	Avatar            string
	Public            bool
	MaxUsers          int
	AllowInvites      bool
	MembersOnly       bool // joining needs an owner's or admin's approval
	InviteNeedConfirm bool
	Owner             int64
	Custom            string
	Announcement      string
	MuteAll           bool
	Disabled          bool
	Members           int // member count, owner included
	Created           int64
	Updated           int64
}

// GroupMember is one member of a group.
type GroupMember struct {
	GroupID   int64
	UserID    int64
	Role      string
	MuteUntil int64 // Unix ms (0: not muted)
	Shield    bool  // the member does not receive the group's messages live
	Attrs     map[string]string
	Joined    int64
}

// GroupRequest is a pending application or invitation.
type GroupRequest struct {
	GroupID int64
	UserID  int64
	Kind    string
	Inviter int64
	Reason  string
	Created int64
}

// GroupStore holds groups, their members, lists and requests. Changes that
// members must learn about take a notice (an AppendOp with Item.ConvID set
// to the group's conversation), appended to the group's stream in the same
// transaction; notice may be nil.
type GroupStore interface {
	// Create stores g (setting ID, ConvID and Members), its conversation
	// and its members (the owner among them, with RoleOwner).
	Create(ctx context.Context, g *Group, members []GroupMember, version int64) error
	Get(ctx context.Context, appID, id int64) (*Group, error)
	// Update writes g's settable fields (name, description, avatar, public,
	// max users, allow invites, members only, invite confirm, custom,
	// announcement, mute all, disabled) and Updated.
	Update(ctx context.Context, g *Group, notice *AppendOp) error
	// Delete dissolves a group: the group, its members (and their
	// conversation rows), lists and requests go; the stream's items stay
	// until retention removes them.
	Delete(ctx context.Context, appID, id int64) error
	// List pages through an app's groups, newest first (ID < before; 0:
	// from the newest).
	List(ctx context.Context, appID, before int64, limit int) ([]Group, error)
	// Search is List keeping only groups whose name contains name, ASCII
	// letters matched case-insensitively.
	Search(ctx context.Context, appID int64, name string, before int64, limit int) ([]Group, error)
	// OfUser lists the groups a user belongs to (offset paging) and their
	// number.
	OfUser(ctx context.Context, appID, userID int64, offset, limit int) ([]Group, int, error)

	Member(ctx context.Context, groupID, userID int64) (*GroupMember, error)
	// Members pages through members by user ID (> after).
	Members(ctx context.Context, groupID, after int64, limit int) ([]GroupMember, error)
	// MemberIDs lists every member's user ID.
	MemberIDs(ctx context.Context, groupID int64) ([]int64, error)
	// AddMembers adds members (existing ones are skipped) unless the group
	// would exceed its MaxUsers (ErrConflict, nothing added), deletes their
	// pending requests, and returns who was added.
	AddMembers(ctx context.Context, g *Group, members []GroupMember, version int64, notice *AppendOp) ([]int64, error)
	// RemoveMembers removes members (and their conversation rows) and
	// returns who was removed.
	RemoveMembers(ctx context.Context, g *Group, userIDs []int64, notice *AppendOp) ([]int64, error)
	// SetRole sets members' role.
	SetRole(ctx context.Context, groupID int64, userIDs []int64, role string, notice *AppendOp) error
	// TransferOwner makes to the owner and from an admin.
	TransferOwner(ctx context.Context, g *Group, from, to int64, notice *AppendOp) error
	// SetMute sets members' mute_until.
	SetMute(ctx context.Context, groupID int64, userIDs []int64, until int64, notice *AppendOp) error
	// Muted lists members muted at now.
	Muted(ctx context.Context, groupID, now int64) ([]GroupMember, error)
	// SetShield sets whether a member receives the group's messages live.
	SetShield(ctx context.Context, groupID, userID int64, shield bool) error
	// SetMemberAttrs replaces a member's attributes.
	SetMemberAttrs(ctx context.Context, groupID, userID int64, attrs map[string]string) error

	// ListAdd and ListRemove change a group list (block, allow).
	ListAdd(ctx context.Context, groupID int64, kind string, userIDs []int64, now int64) error
	ListRemove(ctx context.Context, groupID int64, kind string, userIDs []int64) error
	ListUsers(ctx context.Context, groupID int64, kind string) ([]int64, error)
	InList(ctx context.Context, groupID int64, kind string, userID int64) (bool, error)

	// PutRequest stores or refreshes a request.
	PutRequest(ctx context.Context, r GroupRequest) error
	// TakeRequest deletes and returns a request; ErrNotFound if none.
	TakeRequest(ctx context.Context, groupID, userID int64, kind string) (*GroupRequest, error)
	// Requests lists a group's pending requests of a kind, oldest first.
	Requests(ctx context.Context, groupID int64, kind string) ([]GroupRequest, error)

	// ShareFile lists a file in the group.
	ShareFile(ctx context.Context, groupID, fileID, owner, now int64) error
	// UnshareFile removes a file from the group; ErrNotFound if not there.
	UnshareFile(ctx context.Context, groupID, fileID int64) error
	// SharedFiles pages through a group's files, newest first.
	SharedFiles(ctx context.Context, groupID int64, offset, limit int) ([]SharedFile, error)
	// SharedFileIDs lists the IDs of every file shared in the group.
	SharedFileIDs(ctx context.Context, groupID int64) ([]int64, error)

	// Ack records that user read a message that asked for group receipts;
	// false if it was recorded before.
	Ack(ctx context.Context, itemID, userID, now int64) (bool, error)
	// Acks returns who read a message (user ID > after) and how many did.
	Acks(ctx context.Context, itemID, after int64, limit int) ([]int64, int, error)
}

// SharedFile is a file shared in a group.
type SharedFile struct {
	File    File
	Owner   int64
	Created int64
}
