// Package idgen makes Parley's 64-bit, time-ordered IDs (message IDs and
// change stamps): 41 bits of milliseconds since 2020-01-01 UTC, 10 bits of
// node ID, 12 bits of sequence. IDs from one generator strictly increase,
// even if the wall clock steps back; IDs from different nodes never collide
// as long as node IDs differ.
package idgen

import (
	"sync"
	"time"
)

// Epoch is 2020-01-01T00:00:00Z in Unix milliseconds.
const Epoch = 1577836800000

const (
	nodeBits = 10
	seqBits  = 12
	// MaxNode is the largest node ID.
	MaxNode = 1<<nodeBits - 1
)

// Gen generates IDs for one node.
type Gen struct {
	mu   sync.Mutex
	node int64
	last int64 // last ms used
	seq  int64
	now  func() time.Time
}

// New returns a generator for node (0..MaxNode).
func New(node int) *Gen {
	return &Gen{node: int64(node & MaxNode), now: time.Now}
}

// Next returns a new ID.
func (g *Gen) Next() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := g.now().UnixMilli() - Epoch
	if ms <= g.last {
		ms = g.last // clock stepped back or same millisecond
		g.seq++
		if g.seq > 1<<seqBits-1 {
			// Sequence exhausted for this millisecond: borrow the next one.
			g.last++
			ms = g.last
			g.seq = 0
		}
	} else {
		g.last = ms
		g.seq = 0
	}
	return ms<<(nodeBits+seqBits) | g.node<<seqBits | g.seq
}

// Time returns the wall-clock time embedded in an ID.
func Time(id int64) time.Time {
	return time.UnixMilli(id>>(nodeBits+seqBits) + Epoch)
}

// FromTime returns the smallest ID that could be made at t.
func FromTime(t time.Time) int64 {
	ms := t.UnixMilli() - Epoch
	if ms < 0 {
		ms = 0
	}
	return ms << (nodeBits + seqBits)
}
