package store

import "context"

// Item kinds.
const (
	ItemMsg    = "msg"
	ItemRecall = "recall"
	// ItemEdit is an edit of a message (Target), carrying its new body and
	// ext; the message itself is updated in place.
	ItemEdit = "edit"
)

// ConvChat is the kind of 1:1 conversations.
const ConvChat = "chat"

// Item is one entry of a conversation stream: a message or a recall event.
// Within a conversation, Seq runs 1, 2, 3... without gaps.
type Item struct {
	ID          int64 // time-ordered message ID, assigned by the caller
	AppID       int64
	ConvID      int64
	Seq         int64
	Kind        string
	From        int64 // user ID
	To          int64 // user ID (1:1)
	Type        string
	Body        []byte // JSON; empty once recalled
	Ext         []byte // JSON or empty
	ClientMsgID string
	Target      int64 // recall: the recalled item's ID
	Recalled    bool
	Created     int64
	// Edits counts the edits of a message (its body is the latest).
	Edits int
}

// Conversation is the shared part of a conversation.
type Conversation struct {
	ID         int64
	AppID      int64
	Kind       string
	UserA      int64 // 1:1: the lower user ID
	UserB      int64 // 1:1: the higher user ID
	LastSeq    int64
	LastItemID int64
	Created    int64
	Updated    int64
}

// Member is one user's state in a conversation.
type Member struct {
	ConvID       int64
	UserID       int64
	ReadSeq      int64
	DeliveredSeq int64
	ClearedSeq   int64
	Unread       int64 // counted up to MaxUnread
	Pinned       bool
	// Mentioned: a message after ReadSeq mentions the user (em_at_list
	// naming them, or @all).
	Mentioned bool
	// Version is the member's change stamp (a time-ordered ID). In a
	// ConvView it is the later of the member's own changes (read marks,
	// pins, clears, the peer's read marks) and the conversation's last
	// item, so it rises whenever anything the user sees changes.
	Version int64
	Updated int64
}

// ConvView is a member's view: its state, the conversation, and (1:1) the
// peer's watermarks.
type ConvView struct {
	Member
	Conv             Conversation
	PeerID           int64
	PeerReadSeq      int64
	PeerDeliveredSeq int64
}

// AppendOp is one 1:1 message to store. The caller fills Item (ID, AppID,
// From, To, Type, Body, Ext, ClientMsgID, Created); Append fills ConvID and
// Seq, or, when (AppID, From, ClientMsgID) was stored before, replaces Item
// with the stored one and sets Duplicate.
type AppendOp struct {
	Item      Item
	Duplicate bool
	Err       error
	// OnCommit, if set, is called once the op is committed (not for
	// duplicates or failures), on the store's single announcer goroutine,
	// possibly after Append has returned. It must not block (publish and
	// return). One conversation's items are announced in seq order: all of
	// a conversation's messages go through the same writer, whose commits
	// are announced in order.
	OnCommit func(op *AppendOp)
	// Files are uploaded files (IDs) the message references.
	Files []int64
	// Mentions are group members the message mentions; MentionAll is @all.
	Mentions   []int64
	MentionAll bool
	// Push, if set, is stored with the message (same transaction): the
	// push job for it (ID and ItemID are filled from the item).
	Push *PushJob
	// Callback, if set, is stored with the message (same transaction): the
	// unexpanded callback job for it (ID and ItemID are filled from the
	// item).
	Callback *CallbackJob
}

// MaxUnread caps unread counts (clients show "999+"), so counting stays
// cheap in busy groups.
const MaxUnread = 999

// RecallOp recalls one item. The caller fills AppID, TargetID, RecallID (the
// new recall item's ID) and Created; Recall fills Target (as it was before
// the recall) and Event (the appended recall item).
type RecallOp struct {
	AppID int64
	// ConvHint is the target's conversation, if the caller knows it (it
	// orders the write with others on that conversation).
	ConvHint int64
	TargetID int64
	RecallID int64
	Created  int64
	Target   Item
	Event    Item
	// Files are the files the target referenced (references removed).
	Files []int64
	// Callback, if set, is stored in the recall's transaction: the
	// unexpanded callback job for the recall item (ID and ItemID are
	// filled from it).
	Callback *CallbackJob
}

// EditOp edits a message: its body and ext are replaced, and an edit item
// carrying them is appended to the conversation.
type EditOp struct {
	AppID    int64
	ConvHint int64
	TargetID int64
	EditID   int64
	Body     []byte
	Ext      []byte
	// MaxEdits bounds the edits of one message (ErrLimit beyond).
	MaxEdits int
	Created  int64
	Target   Item // as it was before the edit
	Event    Item
}

// HistoryQuery pages through a conversation's messages (recall events are
// not returned). Seqs are exclusive bounds; zero means unbounded.
type HistoryQuery struct {
	BeforeSeq int64 // backward: messages with seq < BeforeSeq (0: from the newest)
	AfterSeq  int64 // forward: messages with seq > AfterSeq
	Forward   bool
	MinSeq    int64 // never return seq <= MinSeq (the user's cleared_seq)
	Limit     int
}

// MessageStore holds conversation streams.
type MessageStore interface {
	// Append stores 1:1 messages. Each op is atomic and independent: it
	// either stores its item and its conversation's new last_seq and last
	// item (the members' views follow: unread is counted from the stream),
	// or sets op.Err and changes nothing. The returned error is for the call
	// as a whole (nothing stored). An op's item is committed before Append
	// returns.
	Append(ctx context.Context, ops []*AppendOp) error
	// Submit queues one op, as Append would store it, and returns once it
	// is queued; done is then called exactly once, after OnCommit, with
	// op's outcome (op.Err, op.Duplicate) set. It must not block. Ops that
	// one caller submits one after another into the same conversation are
	// stored in that order, so a connection can pipeline its sends. An
	// error return means the op was not queued (done is not called).
	Submit(ctx context.Context, op *AppendOp, done func(*AppendOp)) error
	// Item returns one item of the app.
	Item(ctx context.Context, appID, id int64) (*Item, error)
	// Items returns up to limit items with seq > afterSeq, in seq order.
	Items(ctx context.Context, convID, afterSeq int64, limit int) ([]Item, error)
	// History returns messages in seq order (oldest first) per q.
	History(ctx context.Context, convID int64, q HistoryQuery) ([]Item, error)
	// SeqAt returns the seq of the first item created at or after t (ms),
	// or last_seq+1 if none. Concurrent sends within a millisecond may be
	// ordered either way, so the answer is exact to that precision.
	SeqAt(ctx context.Context, convID, t int64) (int64, error)
	// Recall marks the target recalled (clearing body and ext) and appends a
	// recall item (a recalled message no longer counts as unread). ErrNotFound if the target does not exist; ErrConflict
	// if it is already recalled or is not a message.
	Recall(ctx context.Context, op *RecallOp) error
	// Edit replaces a message's body and ext and appends an edit item.
	// ErrNotFound if the target does not exist; ErrConflict if it is not a
	// message or is recalled; ErrLimit after op.MaxEdits edits.
	Edit(ctx context.Context, op *EditOp) error
}

// ConversationStore holds per-user conversation state.
type ConversationStore interface {
	// Get returns a conversation by ID.
	Get(ctx context.Context, id int64) (*Conversation, error)
	// Find returns the 1:1 conversation of two users, ErrNotFound if none.
	Find(ctx context.Context, appID int64, kind string, userA, userB int64) (*Conversation, error)
	// View returns one member's view; ErrNotFound if the user is not a member.
	View(ctx context.Context, convID, userID int64) (*ConvView, error)
	// State is View without counting unread (Unread is 0): cheaper, for
	// calls that need only membership and watermarks.
	State(ctx context.Context, convID, userID int64) (*ConvView, error)
	// Changed returns the user's views with Version > since, by Version.
	Changed(ctx context.Context, appID, userID, since int64, limit int) ([]ConvView, error)
	// List returns the user's views that are not cleared (last_seq >
	// cleared_seq): pinned first, then most recently updated; offset paging.
	List(ctx context.Context, appID, userID int64, offset, limit int) ([]ConvView, error)
	// MarkDelivered raises delivered_seq to seq (never lowers it; the caller
	// caps seq at last_seq). It reports whether anything changed.
	MarkDelivered(ctx context.Context, convID, userID, seq int64) (bool, error)
	// MarkRead raises read_seq (and delivered_seq) to seq (the caller caps
	// it at last_seq) and stamps version on the reader and the peer. It returns the reader's new view and whether anything changed.
	MarkRead(ctx context.Context, convID, userID, seq, version int64) (*ConvView, bool, error)
	// SetPinned pins or unpins the conversation for the user.
	SetPinned(ctx context.Context, convID, userID int64, pinned bool, version int64) (*ConvView, error)
	// Clear hides everything so far for the user (cleared_seq = read_seq =
	// delivered_seq = last_seq, so nothing is unread).
	Clear(ctx context.Context, convID, userID, version int64) (*ConvView, error)
	// Undelivered counts incoming messages above the user's delivered_seq,
	// over all conversations.
	Undelivered(ctx context.Context, appID, userID int64) (int64, error)
}
