package parley

import (
	"cmp"
	"slices"
	"sync"
)

// verdict says what to do with a conversation item given the local seq.
type verdict int

const (
	seqDuplicate verdict = iota // at or below the local seq: already delivered
	seqNext                     // local seq + 1: deliver it
	seqGap                      // beyond local seq + 1: pull the gap first
)

func (v verdict) String() string {
	switch v {
	case seqDuplicate:
		return "duplicate"
	case seqNext:
		return "next"
	case seqGap:
		return "gap"
	}
	return "unknown"
}

// sequencer holds, per conversation, the highest seq delivered to the
// application. It is owned by the Client's processing goroutine.
type sequencer struct {
	seqs map[string]int64
	// load returns the persisted seq of a conversation seen for the first
	// time (State.Seq).
	load func(convID string) int64
}

func newSequencer(load func(string) int64) *sequencer {
	return &sequencer{seqs: map[string]int64{}, load: load}
}

// local returns the conversation's delivered seq.
func (s *sequencer) local(convID string) int64 {
	v, ok := s.seqs[convID]
	if !ok && s.load != nil {
		v = s.load(convID)
		s.seqs[convID] = v
	}
	return v
}

// check classifies an item at seq.
func (s *sequencer) check(convID string, seq int64) verdict {
	switch l := s.local(convID); {
	case seq <= l:
		return seqDuplicate
	case seq == l+1:
		return seqNext
	default:
		return seqGap
	}
}

// advance moves the conversation's seq forward to seq (never backwards) and
// reports whether it moved.
func (s *sequencer) advance(convID string, seq int64) bool {
	if seq <= s.local(convID) {
		return false
	}
	s.seqs[convID] = seq
	return true
}

// delivered is one "delivered up to seq" receipt to send.
type delivered struct {
	convID string
	seq    int64
}

// receiptBatcher coalesces delivered receipts per conversation: however many
// items arrive between two flushes, one receipt carries the highest seq. A
// receipt whose send failed is due again at the next flush.
type receiptBatcher struct {
	mu    sync.Mutex
	want  map[string]int64 // highest seq received from others
	sent  map[string]int64 // highest seq sent (or in flight)
	acked map[string]int64 // highest seq the server confirmed
}

func newReceiptBatcher() *receiptBatcher {
	return &receiptBatcher{want: map[string]int64{}, sent: map[string]int64{}, acked: map[string]int64{}}
}

// note records that items up to seq were received.
func (b *receiptBatcher) note(convID string, seq int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if seq > b.want[convID] {
		b.want[convID] = seq
	}
}

// due returns the receipts to send now, ordered by conversation, and marks
// them in flight.
func (b *receiptBatcher) due() []delivered {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []delivered
	for conv, seq := range b.want {
		if seq > b.sent[conv] {
			out = append(out, delivered{conv, seq})
			b.sent[conv] = seq
		}
	}
	slices.SortFunc(out, func(a, b delivered) int { return cmp.Compare(a.convID, b.convID) })
	return out
}

// done records the outcome of a sent receipt: confirmed, or failed (then it
// is due again unless a later one is already in flight).
func (b *receiptBatcher) done(d delivered, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		if d.seq > b.acked[d.convID] {
			b.acked[d.convID] = d.seq
		}
		return
	}
	if b.sent[d.convID] == d.seq {
		b.sent[d.convID] = b.acked[d.convID]
	}
}
