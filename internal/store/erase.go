package store

// Erasure is what UserStore.Erase removed. The database part is done when
// Erase returns; what lives outside it (file bytes in the blob store, live
// connections, caches) is the caller's to finish.
type Erasure struct {
	// User is the erased account as it was.
	User User
	// Files are the files the user uploaded: their rows, references and
	// group shares are gone; their bytes are still in the blob store.
	Files []File
	// Released are files uploaded by others that the user's messages
	// referenced: those references are gone, and a file left with none is
	// the caller's to release (FileStore.DeleteUnreferenced).
	Released []int64
	// Messages counts the user's messages tombstoned (edits included).
	Messages int64
}
