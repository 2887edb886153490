package store

import "context"

// Keyword actions (ModerationWord.Action).
const (
	ActionReject  = "reject"  // the message or nickname is refused
	ActionReplace = "replace" // the word is masked with '*'
	ActionReview  = "review"  // delivered as is, and recorded for review
)

// Moderation record kinds.
const (
	RecordReport = "report" // a user (or the app) reported a message
	RecordFlag   = "flag"   // a message or nickname matched a review word
)

// ModerationWord is one entry of an app's keyword list. Word is stored in
// its folded (lower case) form.
type ModerationWord struct {
	AppID   int64
	Word    string
	Action  string
	Created int64
}

// ModerationRecord is a reported or flagged message (or nickname), with a
// copy of its content as it was when recorded.
type ModerationRecord struct {
	ID       int64 // time-ordered, assigned by the caller
	AppID    int64
	Kind     string // RecordReport or RecordFlag
	MsgID    int64  // the message (0: unknown, e.g. a flagged nickname)
	From     string // the sender's username
	To       string // recipient username, group or room ID
	ChatType string // chat, groupchat, chatroom; "nickname" for nicknames
	MsgType  string
	Content  string // the text that was checked or reported (JSON body for messages)
	Words    string // flags: the matched words, comma-separated
	Reporter string // reports: the reporting username ("admin" for the app)
	Reason   string
	Created  int64
}

// ModerationStore holds keyword lists and moderation records.
type ModerationStore interface {
	// PutWords inserts words, replacing the action of those that exist.
	// It is atomic.
	PutWords(ctx context.Context, words []ModerationWord) error
	// DeleteWords removes words of the app and returns how many existed.
	DeleteWords(ctx context.Context, appID int64, words []string) (int, error)
	// Words returns up to limit words of the app that contain contains
	// ("" for all) and sort after after (exclusive), by word. limit <= 0
	// means all.
	Words(ctx context.Context, appID int64, contains, after string, limit int) ([]ModerationWord, error)
	// AddRecord stores a record.
	AddRecord(ctx context.Context, r *ModerationRecord) error
	// Records returns up to limit records of the app of kind ("" for
	// both) with ID < beforeID (0: from the newest), newest first.
	Records(ctx context.Context, appID int64, kind string, beforeID int64, limit int) ([]ModerationRecord, error)
}
