package store

import "context"

// File is an uploaded file's metadata; its bytes are in the blob store.
type File struct {
	ID          int64
	AppID       int64
	UUID        string
	Owner       int64 // the uploading user (0: an app admin)
	Name        string
	ContentType string
	Size        int64
	Restricted  bool   // downloads need Secret
	Secret      string // the share-secret
	ThumbSize   int64  // bytes of the separate thumbnail (0: none; the file is its own)
	Width       int    // images: pixel size of the original
	Height      int
	Created     int64
}

// FileStore holds uploaded files' metadata and which messages reference
// them (AppendOp.Files adds references; a recall removes them).
type FileStore interface {
	// Create stores f and sets f.ID.
	Create(ctx context.Context, f *File) error
	// Get returns the app's file with this UUID.
	Get(ctx context.Context, appID int64, uuid string) (*File, error)
	// IDs maps those of uuids that name files of the app to their IDs.
	IDs(ctx context.Context, appID int64, uuids []string) (map[string]int64, error)
	// DeleteUnreferenced deletes the file if no message references it and
	// returns it; ErrNotFound if it is gone, ErrConflict if referenced.
	DeleteUnreferenced(ctx context.Context, id int64) (*File, error)
	// Orphans lists up to limit files created before the given time that
	// no message references, oldest first.
	Orphans(ctx context.Context, createdBefore int64, limit int) ([]File, error)
}
