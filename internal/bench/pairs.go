package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parleyim/parley/protocol"
)

// pairSet is n sender connections, each paired with its own recipient
// connection (users s<i> and r<i>), so every message is a stored 1:1
// message delivered live to exactly one device. With several nodes, sender
// i is on node i and its recipient on the next one (round-robin): every
// message crosses from one node to another.
type pairSet struct {
	senders    []*wsConn
	recipients []*wsConn
	to         []string // recipient names
	recipToks  []string
}

func setupPairs(ctx context.Context, e *env, n int) (*pairSet, error) {
	e.o.logf("registering %d users", 2*n)
	_, stoks, err := e.users(ctx, "s", n)
	if err != nil {
		return nil, err
	}
	rnames, rtoks, err := e.users(ctx, "r", n)
	if err != nil {
		return nil, err
	}
	ps := &pairSet{senders: make([]*wsConn, n), recipients: make([]*wsConn, n), to: rnames, recipToks: rtoks}
	e.o.logf("connecting %d sender and %d recipient connections", n, n)
	err = parallel(ctx, 2*n, 32, func(ctx context.Context, i int) error {
		tok, slot, node := stoks, ps.senders, i
		if i >= n {
			tok, slot, i = rtoks, ps.recipients, i-n
			node = i + 1
		}
		c, _, err := dialWS(ctx, e.wsURLFor(node), tok[i], "bench", nil)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		slot[i] = c
		return nil
	})
	if err != nil {
		ps.closeAll()
		return nil, err
	}
	return ps, nil
}

func (ps *pairSet) closeAll() {
	var wg sync.WaitGroup
	for _, list := range [][]*wsConn{ps.senders, ps.recipients} {
		for _, c := range list {
			if c != nil {
				wg.Add(1)
				go func() { defer wg.Done(); c.close() }()
			}
		}
	}
	wg.Wait()
}

// bitset records which seqs of a conversation arrived.
type bitset []uint64

// set marks i and reports whether it was already marked.
func (b *bitset) set(i int64) bool {
	w := int(i / 64)
	if w >= len(*b) {
		n := make(bitset, max(w+1, 2*len(*b)))
		copy(n, *b)
		*b = n
	}
	m := uint64(1) << uint(i%64)
	was := (*b)[w]&m != 0
	(*b)[w] |= m
	return was
}

func (b bitset) has(i int64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(uint64(1)<<uint(i%64)) != 0
}

// pullAll reads every item of a conversation through a fresh connection
// (resource "verify") and returns the stored seqs.
func pullAll(ctx context.Context, e *env, token, convID string) (bitset, int, error) {
	c, _, err := dialWS(ctx, e.wsURL, token, "verify", nil)
	if err != nil {
		return nil, 0, err
	}
	defer c.close()
	var got bitset
	var after int64
	n := 0
	for page := 0; page < 100_000; page++ {
		f, err := c.request(map[string]any{"t": protocol.FramePull, "id": fmt.Sprint("v", page), "conv_id": convID,
			"after_seq": after, "limit": 100}, 30*time.Second)
		if err != nil {
			return nil, 0, err
		}
		for _, it := range f.Items {
			got.set(it.Seq)
			after = max(after, it.Seq)
			n++
		}
		if !f.More || len(f.Items) == 0 {
			return got, n, nil
		}
	}
	return got, n, fmt.Errorf("pull of conversation %s did not end", convID)
}
