package parley

import "sync"

// State persists what a device has processed: the sync cursor, per
// conversation the highest seq delivered to the application, and where the
// device is in its people events. Keep one State per user and device. The
// Client updates it only after the application has received the
// corresponding events from Events, so a persisted State never skips an
// undelivered item or event, and a Client started with it delivers nothing
// twice. Implementations must be safe for concurrent use and handle their
// own storage errors.
type State interface {
	// Cursor returns the last sync cursor, or "" for a new device.
	Cursor() string
	SetCursor(cursor string)
	// Seq returns the highest processed seq of a conversation, 0 if none.
	Seq(convID string) int64
	SetSeq(convID string, seq int64)
	// EventCursor returns what SetEventCursor saved last, or "" for a
	// device that never fetched people events.
	EventCursor() string
	// SetEventCursor saves the device's position in its people events: an
	// opaque string holding the server's cursor and the IDs of the events
	// delivered lately (a fetch may return those again). It is usually well
	// under 1 KB; it is called once per delivered event.
	SetEventCursor(cursor string)
}

// MemoryState is a State held in memory.
type MemoryState struct {
	mu     sync.Mutex
	cursor string
	seqs   map[string]int64
	events string
}

// NewMemoryState returns an empty in-memory State.
func NewMemoryState() *MemoryState { return &MemoryState{seqs: map[string]int64{}} }

var _ State = (*MemoryState)(nil)

// Cursor implements State.
func (s *MemoryState) Cursor() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor
}

// SetCursor implements State.
func (s *MemoryState) SetCursor(cursor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursor = cursor
}

// Seq implements State.
func (s *MemoryState) Seq(convID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seqs[convID]
}

// SetSeq implements State; it never moves a seq backwards.
func (s *MemoryState) SetSeq(convID string, seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq > s.seqs[convID] {
		s.seqs[convID] = seq
	}
}

// EventCursor implements State.
func (s *MemoryState) EventCursor() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.events
}

// SetEventCursor implements State.
func (s *MemoryState) SetEventCursor(cursor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = cursor
}
