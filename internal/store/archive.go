package store

import "context"

// ArchivedItem is a stored message with what an export needs to name its
// conversation.
type ArchivedItem struct {
	Item
	// ConvKind is the conversation's kind (ConvChat, or "group"); for a
	// group, Item.To is the group ID.
	ConvKind string
}

// ArchiveStore reads an app's messages by time, for history exports.
type ArchiveStore interface {
	// Span returns up to limit messages (kind msg, recalled ones excluded)
	// of the app created in [since, until) ms, by (created, id), after the
	// position (afterCreated, afterID) (exclusive; zeros: from the start).
	Span(ctx context.Context, appID, since, until, afterCreated, afterID int64, limit int) ([]ArchivedItem, error)
}
